import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate, DomainEvent } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';
import { committedThrough } from './committed-through.ts';
import { epochNoOp } from './epoch-no-op.ts';

/** What re-copying a head needs: the home's log and the quorum ack (absent unless `core.ack: 'quorum'`). */
export interface HeadCopyDeps {
  readonly events: EventStore;
  readonly replicateBeforeAck?: (
    envelopes: readonly EventEnvelope[],
    writer?: { readonly epoch: number },
  ) => Promise<void>;
}

/**
 * Before a core command decided as a no-op answers, under `core.ack: 'quorum'`: copies the head the
 * decision was made on to a majority. "Already done" acknowledges an earlier write, which may be in the
 * home's log only: its writer got a 503 when its copies timed out, and a retry that finds it done writes
 * nothing, so no later write of this aggregate need carry it to the peers (a saga step retried after a
 * timed-out copy, then its saga moving on to other aggregates). The copy is idempotent: a peer holding the
 * head answers stored, a lagging one is caught up from the home's log first; no majority throws
 * QuorumAckError (503), as the write itself did. A head of an earlier epoch is acknowledged only through a
 * write of the home's epoch on top of it (`committedThrough`, Raft's "Figure 8"): then nothing is copied
 * and the home's epoch no-op is returned, for the caller to append (its copies carry the head). Bug switch
 * `noop-skips-quorum-copy` skips it all.
 */
export async function copyHeadBeforeAck(
  deps: HeadCopyDeps,
  aggregate: AnyAggregate,
  record: StateRecord,
  writer: { readonly epoch: number } | undefined,
): Promise<DomainEvent | undefined> {
  if (aggregate.tier !== 'core' || !deps.replicateBeforeAck || record.seq === 0) return undefined;
  if (bugEnabled('noop-skips-quorum-copy')) return undefined;
  const tail = await deps.events.loadStream(aggregate.name, record.aggregateId, {
    afterSortKey: eventSortKey('core', { seq: record.seq - 1, hlc: '' }),
  });
  const head = tail.find((e) => e.seq === record.seq && e.hlc === record.head);
  if (!head) return undefined;
  // The row is caught up with the chain, so its head is the chain's head: of an earlier epoch, nothing of
  // this one is on top of it.
  const through = committedThrough([head], [head], writer);
  if (!through) return epochNoOp(writer!.epoch);
  await deps.replicateBeforeAck(through, writer);
  return undefined;
}
