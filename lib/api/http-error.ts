import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { UnauthenticatedError } from '../auth/errors.ts';
import { ClockDriftError } from '../clock/hlc.ts';
import { AggregateFrozenError, ContentionError, QuorumAckError } from '../commands/errors.ts';
import { ArchivedEventInFoldError } from '../conflict/errors.ts';
import { ForkBelowArchiveError, HistoryIncompleteError } from '../lifecycle/errors.ts';
import {
  DomainError,
  PayloadValidationError,
  UnknownAggregateError,
  UnknownCommandError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from '../model/errors.ts';
import {
  DrainTimeoutError,
  EpochConflictError,
  InvalidTransitionError,
  LeaseExpiredError,
  NotHomeError,
  PartitionFencedError,
  QuorumUnavailableError,
  StaleEpochError,
} from '../ownership/errors.ts';
import { CircuitOpenError } from '../resilience/errors.ts';
import {
  ConsistencyUnavailableError,
  InvalidConsistencyTokenError,
  PeerUnavailableError,
} from '../routing/errors.ts';
import { ROUTING_HEADERS } from '../routing/headers.ts';
import {
  AppendTimeoutError,
  ArchivedStubAppendError,
  ConcurrencyError,
  EventTooLargeError,
  TooManyEventsError,
} from '../store/errors.ts';

/** An error with its HTTP status and a stable machine-readable code; `expose` says if the message is safe to show. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly details: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    extra: {
      details?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
      /** Show the message even for a 5xx (deliberate answers such as 503 + Retry-After). */
      expose?: boolean;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.details = extra.details ?? {};
    this.headers = extra.headers ?? {};
    this.exposeOverride = extra.expose;
  }

  private readonly exposeOverride: boolean | undefined;

  get expose(): boolean {
    return this.exposeOverride ?? this.statusCode < 500;
  }
}

type Mapping = readonly [
  new (...args: never[]) => Error,
  number,
  (error: never) => Record<string, unknown>,
  ((error: never) => Record<string, string>)?,
];

const none = () => ({});
/** Retry-After in whole seconds (at least 1). */
const retryAfter = (ms: number) => ({ 'Retry-After': String(Math.max(1, Math.ceil(ms / 1_000))) });
// One table maps every library error to its status; routes never pick status codes for errors.
const MAPPINGS: readonly Mapping[] = [
  [
    UnauthenticatedError,
    401,
    (e: UnauthenticatedError) => ({ reason: e.reason }),
    () => ({ 'WWW-Authenticate': 'Bearer' }),
  ],
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
  // Ownership and routing: a write outside its home that was not re-routed, fencing, quorum, peers.
  [
    NotHomeError,
    421,
    (e: NotHomeError) => ({ partition: e.partition, home: e.home, epoch: e.epoch }),
    (e: NotHomeError) => ({ [ROUTING_HEADERS.home]: e.home }),
  ],
  // Both mean "not the home at this epoch": 421 tells a forwarding region to drop its cached map and re-route.
  [StaleEpochError, 421, (e: StaleEpochError) => ({ partition: e.partition, epoch: e.epoch })],
  [EpochConflictError, 409, (e: EpochConflictError) => ({ expectedEpoch: e.expectedEpoch })],
  [InvalidTransitionError, 409, (e: InvalidTransitionError) => ({ partition: e.partition })],
  [
    PartitionFencedError,
    503,
    (e: PartitionFencedError) => ({ partition: e.partition, epoch: e.epoch }),
    (e: PartitionFencedError) => retryAfter(e.retryAfterMs),
  ],
  // A write in flight past its lease, or an append that did not answer in time: retry (the latter's
  // outcome is unknown, so the same idempotencyKey makes the retry safe).
  [
    LeaseExpiredError,
    503,
    (e: LeaseExpiredError) => ({ partition: e.partition, epoch: e.epoch }),
    () => retryAfter(1_000),
  ],
  [AppendTimeoutError, 503, (e: AppendTimeoutError) => ({ timeoutMs: e.timeoutMs }), () => retryAfter(1_000)],
  [
    QuorumUnavailableError,
    503,
    (e: QuorumUnavailableError) => ({ answered: e.answered, needed: e.needed }),
    () => retryAfter(1_000),
  ],
  [
    PeerUnavailableError,
    503,
    (e: PeerUnavailableError) => ({ peer: e.peer, reason: e.reason }),
    (e: PeerUnavailableError) => retryAfter(e.retryAfterMs),
  ],
  [
    ConsistencyUnavailableError,
    503,
    (e: ConsistencyUnavailableError) => ({ origin: e.origin, token: e.token }),
    (e: ConsistencyUnavailableError) => retryAfter(e.retryAfterMs),
  ],
  [
    CircuitOpenError,
    503,
    (e: CircuitOpenError) => ({ peer: e.peer }),
    (e: CircuitOpenError) => retryAfter(e.retryAfterMs),
  ],
  [
    DrainTimeoutError,
    503,
    (e: DrainTimeoutError) => ({ partition: e.partition, to: e.to }),
    () => retryAfter(1_000),
  ],
  [InvalidConsistencyTokenError, 400, none],
  // Data lifecycle: the answer needs history whose payloads are in the archive, and this region's wiring has
  // no archive (or no snapshot covers it). Not the client's fault and not a crash: 503 with the reason, and
  // no Retry-After (retrying will not help until an archive is wired or a snapshot covers the write).
  [
    HistoryIncompleteError,
    503,
    (e: HistoryIncompleteError) => ({
      reason: 'history-archived',
      aggregateType: e.aggregateType,
      aggregateId: e.aggregateId,
      firstSeq: e.firstSeq,
    }),
  ],
  [
    ForkBelowArchiveError,
    503,
    (e: ForkBelowArchiveError) => ({
      reason: 'fork-below-archive',
      aggregateType: e.aggregateType,
      aggregateId: e.aggregateId,
      seq: e.seq,
    }),
  ],
  // A type moved off core with archived stubs in its log (README "Guide: move an aggregate between tiers").
  [
    ArchivedEventInFoldError,
    503,
    (e: ArchivedEventInFoldError) => ({
      reason: 'archived-stub-in-fold',
      aggregateType: e.aggregateType,
      aggregateId: e.aggregateId,
      seq: e.seq,
    }),
  ],
  [
    ArchivedStubAppendError,
    503,
    (e: ArchivedStubAppendError) => ({
      reason: 'archived-stub',
      aggregateId: e.aggregateId,
      eventId: e.eventId,
    }),
  ],
  [
    QuorumAckError,
    503,
    (e: QuorumAckError) => ({ peersTried: e.peersTried }),
    (e: QuorumAckError) => retryAfter(e.retryAfterMs),
  ],
];

/** Maps any thrown value to an HttpError; unknown errors become a 500 that hides the message. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError)
    return new HttpError(422, error.code, error.message, { details: { ...error.details } });
  for (const [type, status, details, headers] of MAPPINGS) {
    if (error instanceof type) {
      return new HttpError(status, error.name, error.message, {
        details: details(error as never),
        headers: headers?.(error as never) ?? {},
        cause: error,
        // Mapped 5xx answers are deliberate (fenced, quorum or peer unavailable): say why.
        expose: true,
      });
    }
  }
  return new HttpError(500, 'InternalError', 'internal error', { cause: error });
}
