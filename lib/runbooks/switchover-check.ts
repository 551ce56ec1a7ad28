import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { DeliverySeal } from './direct-delivery.ts';
import type { PhaseTimer } from './phase-timer.ts';
import type { RunbookDeps } from './ports.ts';
import { confirmSourceFence, type SourceFence } from './switchover-confirm.ts';
import {
  deliverHead,
  type HeadDelivery,
  lackingAtTarget,
  readSourceHead,
  readTarget,
  rereadSourceRows,
  rowDiffering,
  type SourceHead,
  type TargetView,
} from './switchover-head.ts';
import { blockingMissing, type SwitchoverMove } from './switchover-plan.ts';

/** One partition's answer in CheckWatermark: what the target lacks, and how the source is known fenced. */
export interface WatermarkCheck {
  readonly partition: number;
  readonly missing: number | null;
  readonly sourceFenced: boolean;
  readonly confirmedBy: SourceFence;
  /** Core events of the source's head this check put into the target's log itself (direct delivery). */
  readonly delivered?: number;
  /** Some of the events the direct delivery refused (they stay missing): event id and reason. */
  readonly refused?: ReadonlyArray<{ readonly eventId: string; readonly reason: string }>;
  /**
   * Once the target held the head: `same` when every core row of the partition is the same in source and
   * target (VerifyProbe takes this comparison instead of making its own), `differ` otherwise (`differs`
   * names one). Absent when not compared (switch-back, or the target does not hold the head yet).
   */
  readonly rows?: 'same' | 'differ';
  readonly differs?: string;
  /** Core aggregates of the partition compared. */
  readonly aggregates?: number;
}

/** What CheckWatermark keeps across the polls of one task. */
export interface CheckContext {
  readonly fencedAt: number;
  readonly leaseOver: boolean;
  /** Partitions whose source's own copy was confirmed fenced (it stays so). */
  readonly confirmed: Map<number, SourceFence>;
  /** Source heads already read (final: read only once the source is fenced). */
  readonly heads: Map<number, SourceHead>;
  readonly timer: PhaseTimer;
  /**
   * Switchover: the source's head is read once, what the target lacks of it is delivered directly when the
   * source confirmed its fence in its own copy, and the rows are compared. Switch-back: false, the logs
   * are compared on every poll and the replication pipeline brings what is missing.
   */
  readonly direct: boolean;
  /** Whether a direct delivery may still start in this task (its window: RunbookDeps.directDelivery). */
  readonly deliveryOpen?: () => boolean;
  /** At most this many of a partition's lacking events are delivered per poll (default: all). */
  readonly deliveryCap?: number;
}

/**
 * A partition whose source can no longer write and whose target holds its head (and, when compared, the
 * same rows): it stays so.
 */
export function settled(check: WatermarkCheck | undefined): boolean {
  return check !== undefined && check.missing === 0 && check.sourceFenced && check.rows !== 'differ';
}

/**
 * The seal of a direct delivery: each append checks the target's own copy of the entry is not past the
 * fence's epoch, so an invocation that outlives its task (Step Functions moved on, the Lambda did not)
 * delivers nothing into a target a Failover sealed since (bug switch `switchover-delivery-unsealed`: no
 * such check).
 */
function sealOf(move: SwitchoverMove): DeliverySeal | undefined {
  if (bugEnabled('switchover-delivery-unsealed')) return undefined;
  return { partition: move.partition, epoch: move.fencedEpoch };
}

/**
 * Fence confirmation first, then the logs: once the source's own copy carries the fence no core append
 * can commit there (the append's transaction condition-checks that copy), so the head read after it is
 * final. Without the confirmation the head is not read at all until lease + skew have passed.
 * With `direct`, that final head is read once; the events of it the target lacks are put into the
 * target's log at once (own-copy only) instead of waiting for the replication pipeline, the target's
 * logs are read again, and once they hold the head the rows are compared (VerifyProbe's check, made here
 * while the partition is still fenced and nothing can write either region's core rows).
 */
export async function checkMove(
  deps: RunbookDeps,
  move: SwitchoverMove,
  context: CheckContext,
): Promise<WatermarkCheck> {
  const { partition } = move;
  if (move.from === move.to) return { partition, missing: 0, sourceFenced: true, confirmedBy: 'lease' };
  const { timer } = context;
  const key = String(partition);
  // A copy confirmed fenced stays so (a replica takes only higher epochs, all of them this run's until
  // MoveHome checks the entry is still its own): the task's next poll re-reads only the logs.
  const confirmedBy =
    context.confirmed.get(partition) ??
    (await timer.time('confirm', () => confirmSourceFence(deps, move, context.leaseOver), key));
  if (!confirmedBy) return { partition, missing: null, sourceFenced: false, confirmedBy };
  if (confirmedBy === 'own-copy') context.confirmed.set(partition, confirmedBy);
  const [source, target] = [deps.cell(move.from), deps.cell(move.to)];
  if (!context.direct || bugEnabled('index-trusting-watermark')) {
    const missing = await timer.time(
      'logs',
      () =>
        blockingMissing(
          deps,
          { source, target, partition },
          { fencedAt: context.fencedAt, skewMarginMs: deps.map.skewMarginMs, tiers: 'core' },
        ),
      key,
    );
    return { partition, missing, sourceFenced: true, confirmedBy };
  }
  let head = context.heads.get(partition);
  let view: TargetView;
  if (head) view = await timer.time('logs', () => readTarget(deps, target, head!), key);
  else {
    const read = await timer.time('head', () => readSourceHead(deps, { source, target }, partition), key);
    ({ head, view } = read);
    context.heads.set(partition, head);
  }
  const final = head;
  let lacking: readonly EventEnvelope[] = await lackingAtTarget(target, final, view);
  let delivery: HeadDelivery | undefined;
  if (lacking.length > 0 && confirmedBy === 'own-copy' && (context.deliveryOpen?.() ?? true)) {
    // A prefix: each aggregate's events are in log order, aggregate after aggregate, and each is delivered
    // only on top of its predecessor; the rest waits for the next poll (or the pipeline).
    const wanted = lacking.slice(0, context.deliveryCap ?? lacking.length);
    delivery = await timer.time(
      'deliver',
      () => deliverHead(deps, target, final, { lacking: wanted, seal: sealOf(move) }),
      key,
    );
    view = delivery.view;
    lacking = await lackingAtTarget(target, final, view);
  }
  const delivered = delivery
    ? {
        delivered: delivery.delivered,
        ...(delivery.refused.length > 0
          ? { refused: delivery.refused.slice(0, 3).map(({ eventId, reason }) => ({ eventId, reason })) }
          : {}),
      }
    : {};
  const checked = { partition, sourceFenced: true, confirmedBy, ...delivered };
  if (lacking.length > 0) return { ...checked, missing: lacking.length };
  // Bug switch: the rows are reported the same without being read.
  let differs = bugEnabled('switchover-rows-unchecked') ? undefined : rowDiffering(final, view);
  if (differs) {
    // The source's row may be the one behind (its write's row lands after its append): read its rows again.
    const fresh = await timer.time('rows', () => rereadSourceRows(deps, source, final), key);
    context.heads.set(partition, fresh);
    differs = rowDiffering(fresh, view);
  }
  return {
    ...checked,
    missing: 0,
    aggregates: final.aggregates.filter((a) => a.rowRead).length,
    ...(differs ? { rows: 'differ' as const, differs } : { rows: 'same' as const }),
  };
}
