import type { ApplyOutcome } from './applier.ts';
import { POISON_REASONS } from './errors.ts';
import { backOffFailed, type LaneVisibility, type RetriedRecord } from './lane-retry.ts';
import type { ReplicationMetrics } from './ports.ts';
import type { QuarantinePort } from './quarantine.ts';

/** How the redrive queue's name ends (`multiactive-<env>-applier-failures`). */
export const REDRIVE_QUEUE_SUFFIX = '-applier-failures';

/**
 * Records handed back untried when an invocation has less than this left: one real-time apply can wait
 * on a quorum read or an origin fetch for several seconds, and a timed-out invocation fails its whole batch.
 */
export const REDRIVE_TIME_MARGIN_MS = 15_000;

/** An SQS record of the redrive queue, as far as redriving it goes. */
export interface RedriveRecord extends RetriedRecord {
  readonly body: string;
}

/** Whether an SQS batch comes from applier-failures (a mapping's batch comes from one queue). */
export function isRedriveBatch(records: ReadonlyArray<{ readonly eventSourceARN: string }>): boolean {
  return records.length > 0 && records.every((r) => r.eventSourceARN.endsWith(REDRIVE_QUEUE_SUFFIX));
}

/**
 * The EventBridge event of a Lambda invocation record (what an on-failure destination receives for a
 * failed asynchronous invocation: `requestContext`, `requestPayload`, `responsePayload`...), or why the
 * body is not one.
 */
export function failedEventOf(
  body: string,
): { readonly event: { readonly detail: unknown } } | { readonly reason: string; readonly record?: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { reason: 'the body is not JSON' };
  }
  const payload = (parsed as { requestPayload?: unknown } | null)?.requestPayload;
  if (payload === null || typeof payload !== 'object' || !('detail' in payload))
    // Lambda leaves the payload out of a record too large for the destination: the event is not in it.
    return {
      reason: 'not a Lambda invocation record with an EventBridge event as its requestPayload',
      record: parsed,
    };
  return { event: payload as { readonly detail: unknown } };
}

export interface RedriveDeps {
  /** The real-time path: applies one EventBridge event (throws on a transient failure). */
  readonly apply: (event: { readonly detail: unknown }) => Promise<ApplyOutcome>;
  /** Shortens the wait of failed records and hands untried ones back at once. */
  readonly visibility?: LaneVisibility;
  /** Where a record that holds no event goes (with its reason), instead of failing for hours. */
  readonly quarantine: QuarantinePort;
  /** Counts what is quarantined (`QuarantinedEvents`, alarmed), as the applier's own quarantine does. */
  readonly metrics?: Pick<ReplicationMetrics, 'quarantined'>;
  /** Time left in this invocation (`context.getRemainingTimeInMillis`). */
  readonly remainingMs?: () => number;
  readonly marginMs?: number;
  readonly logger?: { warn: (message: string, details: Record<string, unknown>) => void };
}

/** What a redrive batch came to. */
export interface RedriveReport {
  readonly outcomes: ReadonlyArray<{ readonly id: string; readonly outcome: ApplyOutcome }>;
  /** Records whose apply failed again (backed off, received again later). */
  readonly failed: readonly string[];
  /** Records not started for lack of time (received again at once). */
  readonly untried: readonly string[];
  /** Records that hold no event: quarantined with the reason (failed only if the quarantine write failed). */
  readonly malformed: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

/**
 * Applies the failed invocations of an applier-failures batch again, one by one and in order, through the
 * real-time path: the same validation, ordering, parking and idempotency as their first delivery, so a
 * redriven event that was applied meanwhile (a later redrive, Repair) is a duplicate, not a second copy.
 * A record whose apply throws again is backed off (2 s doubling to 5 minutes by its receive count) until
 * the queue moves it to applier-failures-dead-letters. A record that holds no event (not JSON, or a record
 * Lambda sent without its payload) is quarantined with the reason, as poison is, not retried for hours.
 */
export async function redriveFailedInvocations(
  records: readonly RedriveRecord[],
  deps: RedriveDeps,
): Promise<RedriveReport> {
  const outcomes: Array<{ id: string; outcome: ApplyOutcome }> = [];
  const failed: string[] = [];
  const untried: string[] = [];
  const malformed: Array<{ id: string; reason: string }> = [];
  const margin = deps.marginMs ?? REDRIVE_TIME_MARGIN_MS;
  for (const record of records) {
    const id = record.messageId;
    if (deps.remainingMs && deps.remainingMs() < margin) {
      untried.push(id);
      continue;
    }
    const done = await redriveOne(record, deps);
    if ('outcome' in done) outcomes.push({ id, outcome: done.outcome });
    else if (done.malformed) malformed.push({ id, reason: done.malformed });
    if ('failed' in done && done.failed) failed.push(id);
  }
  if (deps.visibility) {
    if (failed.length > 0) await backOffFailed(deps.visibility, records, failed);
    // Untried records come back at once (they are not backed off: nothing failed).
    if (untried.length > 0) await backOffFailed(deps.visibility, records, untried, () => 0);
  }
  return { outcomes, failed, untried, malformed };
}

/**
 * One record: its event applied (the outcome), or quarantined for holding none (`malformed`, `failed` if the
 * quarantine write failed too), or failed again.
 */
async function redriveOne(
  record: RedriveRecord,
  deps: RedriveDeps,
): Promise<{ outcome: ApplyOutcome } | { malformed?: string; failed: boolean }> {
  const id = record.messageId;
  const found = failedEventOf(record.body);
  if ('reason' in found) {
    deps.logger?.warn('applier-failures record holds no event: quarantined', { id, reason: found.reason });
    try {
      await deps.quarantine.quarantine({
        reason: POISON_REASONS.invalidEnvelope,
        message: `applier-failures record ${id}: ${found.reason}`,
        raw: found.record ?? record.body,
        receivedAt: new Date(),
        context: { queue: record.eventSourceARN, messageId: id },
      });
      deps.metrics?.quarantined(POISON_REASONS.invalidEnvelope);
      return { malformed: found.reason, failed: false };
    } catch (error) {
      deps.logger?.warn('applier-failures record could not be quarantined: received again later', {
        id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return { malformed: found.reason, failed: true };
    }
  }
  try {
    return { outcome: await deps.apply(found.event) };
  } catch (error) {
    deps.logger?.warn('redriven apply failed again', {
      id,
      receives: record.attributes.ApproximateReceiveCount,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return { failed: true };
  }
}

/** The partial batch response of a redrive report: every record not done with comes back. */
export function redriveBatchItemFailures(report: RedriveReport): Array<{ itemIdentifier: string }> {
  return [...report.failed, ...report.untried].map((itemIdentifier) => ({ itemIdentifier }));
}
