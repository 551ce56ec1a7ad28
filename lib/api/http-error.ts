import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { ClockDriftError } from '../clock/hlc.ts';
import { AggregateFrozenError, ContentionError } from '../commands/errors.ts';
import {
  DomainError,
  PayloadValidationError,
  UnknownAggregateError,
  UnknownCommandError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from '../model/errors.ts';
import { ConcurrencyError, EventTooLargeError, TooManyEventsError } from '../store/errors.ts';

/** An error with its HTTP status and a stable machine-readable code; `expose` says if the message is safe to show. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly details: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    extra: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.details = extra.details ?? {};
    this.headers = extra.headers ?? {};
  }

  get expose(): boolean {
    return this.statusCode < 500;
  }
}

type Mapping = readonly [new (...args: never[]) => Error, number, (error: never) => Record<string, unknown>];

const none = () => ({});
// One table maps every library error to its status; routes never pick status codes for errors.
const MAPPINGS: readonly Mapping[] = [
  [UnknownAggregateError, 404, (e: UnknownAggregateError) => ({ known: e.known })],
  [UnknownCommandError, 400, (e: UnknownCommandError) => ({ known: e.known })],
  [PayloadValidationError, 400, (e: PayloadValidationError) => ({ issues: e.issues })],
  [UnknownEventTypeError, 400, none],
  [UnsupportedSchemaVersionError, 400, none],
  [EventTooLargeError, 413, (e: EventTooLargeError) => ({ bytes: e.bytes, maxBytes: e.maxBytes })],
  [TooManyEventsError, 413, (e: TooManyEventsError) => ({ count: e.count, max: e.max })],
  [ConcurrencyError, 409, none],
  [ContentionError, 409, (e: ContentionError) => ({ attempts: e.attempts })],
  [AggregateFrozenError, 409, none],
  [IdempotencyValidationError, 422, none],
  [IdempotencyAlreadyInProgressError, 409, none],
  [ClockDriftError, 400, (e: ClockDriftError) => ({ maxDriftMs: e.maxDriftMs })],
];

/** Maps any thrown value to an HttpError; unknown errors become a 500 that hides the message. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError)
    return new HttpError(422, error.code, error.message, { details: { ...error.details } });
  for (const [type, status, details] of MAPPINGS) {
    if (error instanceof type) {
      return new HttpError(status, error.name, error.message, {
        details: details(error as never),
        cause: error,
      });
    }
  }
  return new HttpError(500, 'InternalError', 'internal error', { cause: error });
}
