/** Base class of the operators' tools' errors. */
export class OpsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OpsError';
  }
}

/** A command line or form the tools cannot act on (exit code 2). */
export class UsageError extends OpsError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The target (sandbox control endpoint, AWS) did not answer (exit code 3). */
export class TargetUnreachableError extends OpsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TargetUnreachableError';
  }
}
