import type { Tier } from '../config/schema.ts';
import { bugEnabled } from '../faults/index.ts';
import { jsonBytes } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { DYNAMODB_LIMITS, itemMeasure } from '../store/item-size.ts';
import { toEventItem } from '../store/marshal.ts';

/** A transaction takes 100 items: a run writes its events plus the projection row's guard. */
const MAX_RUN_EVENTS = DYNAMODB_LIMITS.transactItems - 1;
/**
 * A transaction carries at most 4 MB of items (TransactWriteItems, DynamoDB's item size: numbers by
 * significant digits, +1 per list or map element, not the JSON length): a run's event items stay under it
 * less the projection row, counted at DynamoDB's largest item (400 KB) since the row is planned after the
 * run is cut, and less a margin.
 */
export const MAX_RUN_BYTES = 4_000_000 - DYNAMODB_LIMITS.itemBytes;
/**
 * The request's body is at most 16 MB (DynamoDB JSON: `{"N":"1"}` for a 2-byte item value): a run's event
 * items stay under it less the row's (its 400 KB item at up to 10 bytes on the wire per byte of item: an
 * empty string in a list) and a margin per event for the Put's table name and condition.
 */
export const MAX_RUN_WIRE_BYTES = 16_000_000 - 10 * DYNAMODB_LIMITS.itemBytes;
const PUT_OVERHEAD_BYTES = 1024;

/** A run's share of a transaction: its item size and its bytes in the request. */
function eventMeasure(tier: Tier, event: EventEnvelope): { size: number; wire: number } {
  // The old cut (bug switch): the JSON length for both, which DynamoDB counts neither way.
  if (bugEnabled('lane-runs-by-json')) return { size: jsonBytes(event) + 1024, wire: 0 };
  const item = itemMeasure(toEventItem(tier, event));
  return { size: item.size, wire: item.wire + PUT_OVERHEAD_BYTES };
}

/**
 * Cuts events (in order) into runs DynamoDB takes in one transaction: at most MAX_RUN_EVENTS events,
 * MAX_RUN_BYTES of items and MAX_RUN_WIRE_BYTES of request, each measured as DynamoDB measures it.
 */
export function runsOf(tier: Tier, events: readonly EventEnvelope[]): EventEnvelope[][] {
  const byCountOnly = bugEnabled('lane-runs-by-count');
  const runs: EventEnvelope[][] = [];
  let run: EventEnvelope[] = [];
  let size = 0;
  let wire = 0;
  for (const event of events) {
    const m = eventMeasure(tier, event);
    const full =
      run.length >= MAX_RUN_EVENTS ||
      (!byCountOnly && (size + m.size > MAX_RUN_BYTES || wire + m.wire > MAX_RUN_WIRE_BYTES));
    if (run.length > 0 && full) {
      runs.push(run);
      run = [];
      size = 0;
      wire = 0;
    }
    run.push(event);
    size += m.size;
    wire += m.wire;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Throttling, in the SDK's names: DynamoDB asks to retry later, so a batch failing with it is retried. */
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'TransactionInProgressException',
]);

/**
 * Why DynamoDB refused a run's request for good (the same request never succeeds: send its events one by
 * one), or undefined when the failure is transient (throttling, 5xx, network, a lost race: retry it all).
 * A ValidationException (a transaction over 4 MB, an item over 400 KB) and any other non-throttling 4xx
 * (HTTP 413: a body over 16 MB, which the SDK names UnknownError) are refusals.
 */
export function refusalOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'ValidationException')
    return bugEnabled('lane-validation-transient') ? undefined : 'ValidationException';
  if (bugEnabled('lane-client-error-transient')) return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  if (THROTTLING.has(error.name) || status === 429) return undefined;
  // A cancelled transaction is a lost race or throttling unless DynamoDB says the request itself is invalid.
  if (error.name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ValidationError')
      ? 'TransactionCanceledException/ValidationError'
      : undefined;
  }
  return `${error.name} (HTTP ${status})`;
}
