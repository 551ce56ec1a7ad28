/** Base class of errors raised by domain logic (deciders); mapped to HTTP 4xx at the edge. */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  /** Machine-readable code, e.g. `InsufficientFunds`. */
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** The command does not exist for this aggregate type. */
export class UnknownCommandError extends Error {
  override readonly name = 'UnknownCommandError';
  constructor(
    readonly aggregateType: string,
    readonly commandType: string,
    readonly known: readonly string[],
  ) {
    super(`unknown command "${commandType}" for ${aggregateType}; known: ${known.join(', ')}`);
  }
}

/** The aggregate type is not registered. */
export class UnknownAggregateError extends Error {
  override readonly name = 'UnknownAggregateError';
  constructor(
    readonly aggregateType: string,
    readonly known: readonly string[],
  ) {
    super(`unknown aggregate type "${aggregateType}"; known: ${known.join(', ')}`);
  }
}

/** An event type that the aggregate does not declare. */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
  constructor(
    readonly aggregateType: string,
    readonly eventType: string,
  ) {
    super(`unknown event type "${eventType}" for ${aggregateType}`);
  }
}

/** An event's schema version is newer than the code knows, or older with no upcaster. */
export class UnsupportedSchemaVersionError extends Error {
  override readonly name = 'UnsupportedSchemaVersionError';
  constructor(
    readonly eventType: string,
    readonly version: number,
    readonly current: number,
  ) {
    super(`no upcaster for ${eventType} v${version} (current v${current})`);
  }
}

/** A command or event payload failed its schema. */
export class PayloadValidationError extends Error {
  override readonly name = 'PayloadValidationError';
  constructor(
    readonly subject: string,
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(`invalid ${subject}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}
