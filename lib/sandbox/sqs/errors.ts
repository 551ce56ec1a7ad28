/** Base class of the local SQS's errors. */
export class LocalSqsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalSqsError';
  }
}

/** A message SQS would refuse (empty, or over the 256 KiB limit), named as the SDK names it. */
export class InvalidMessageContentsError extends LocalSqsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidMessageContents';
  }
}

/** A queue setting outside what SQS or Lambda accepts (a template the sandbox must not run silently). */
export class InvalidQueueSettingError extends LocalSqsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidQueueSettingError';
  }
}
