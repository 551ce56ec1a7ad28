/** Base class of the local EventBridge's errors. */
export class LocalEventBridgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalEventBridgeError';
  }
}

/** An event pattern that EventBridge would refuse in PutRule / TestEventPattern. */
export class InvalidEventPatternError extends LocalEventBridgeError {
  /** Where in the pattern the problem is, e.g. `detail.c-count[0]` (empty for the root). */
  readonly path: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`Event pattern is not valid. Reason: ${reason}${path ? ` at ${path}` : ''}`, options);
    this.name = 'InvalidEventPatternError';
    this.path = path;
  }
}

/**
 * A whole PutEvents call rejected before any entry is looked at (the SDK's `ValidationException`).
 * The name mirrors the SDK's so code written against the real client handles it the same way.
 */
export class PutEventsValidationError extends LocalEventBridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ValidationException';
  }
}

/** A rule was registered with something that cannot be a rule (bad name, no targets, duplicate target ids). */
export class InvalidRuleError extends LocalEventBridgeError {
  readonly ruleName: string;

  constructor(ruleName: string, reason: string, options?: ErrorOptions) {
    super(`Rule ${JSON.stringify(ruleName)} is not valid: ${reason}`, options);
    this.name = 'InvalidRuleError';
    this.ruleName = ruleName;
  }
}

/** The bus was used after `close()`. */
export class EventBusClosedError extends LocalEventBridgeError {
  constructor(busName: string, options?: ErrorOptions) {
    super(`Event bus ${JSON.stringify(busName)} is closed`, options);
    this.name = 'EventBusClosedError';
  }
}

/**
 * A Lambda target's function ran and failed (threw). EventBridge delivered the event (the invocation was
 * accepted): Lambda, not the rule's RetryPolicy, retries it.
 */
export class FunctionError extends LocalEventBridgeError {
  constructor(
    readonly functionName: string,
    cause: unknown,
  ) {
    super(
      `${functionName} failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      { cause },
    );
    this.name = 'FunctionError';
  }
}
