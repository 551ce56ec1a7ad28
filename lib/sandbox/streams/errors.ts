/** Base class of the stream poller's errors. */
export class StreamPollerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StreamPollerError';
  }
}

/** The table has no stream enabled, or the stream does not exist. */
export class StreamNotFoundError extends StreamPollerError {
  readonly source: string;

  constructor(source: string, options?: ErrorOptions) {
    super(`No DynamoDB stream found for ${source}`, options);
    this.name = 'StreamNotFoundError';
    this.source = source;
  }
}

/**
 * What `onFailure` receives as its error when a handler's partial batch response named failed items
 * (there is no thrown error to pass on).
 */
export class BatchItemFailuresError extends StreamPollerError {
  readonly itemIdentifiers: string[];

  constructor(itemIdentifiers: string[]) {
    super(
      `Handler reported ${itemIdentifiers.length} failed item(s), first ${itemIdentifiers[0] ?? '(none)'}`,
    );
    this.name = 'BatchItemFailuresError';
    this.itemIdentifiers = itemIdentifiers;
  }
}
