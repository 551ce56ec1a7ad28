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
  const head = await headOf(deps, aggregate, record);
  if (!head) return undefined;
  // The row is caught up with the chain, so its head is the chain's head: of an earlier epoch, nothing of
  // this one is on top of it.
  const through = committedThrough([head], [head], writer);
  if (!through) return epochNoOp(writer!.epoch);
  await deps.replicateBeforeAck(through, writer);
  return undefined;
}

/** The event the row's head names, from the home's log (undefined when the log no longer holds it). */
async function headOf(
  deps: HeadCopyDeps,
  aggregate: AnyAggregate,
  record: StateRecord,
): Promise<EventEnvelope | undefined> {
  const tail = await deps.events.loadStream(aggregate.name, record.aggregateId, {
    afterSortKey: eventSortKey('core', { seq: record.seq - 1, hlc: '' }),
  });
  return tail.find((e) => e.seq === record.seq && e.hlc === record.head);
}

/**
 * Before a core home answers a refusal or a no-op under `core.ack: 'local'`, on a row whose head an earlier
 * epoch wrote: the home's epoch no-op, for the caller to append on top of that head first. A home that
 * took the partition over from a lost one decides on what it holds; the lost home's last acknowledged
 * writes may reach it later. Unsealed, they would join its chain after an answer given without them (a
 * withdrawal refused for a balance a late deposit raised: not linearizable). Sealed, they find their seq
 * taken and end as the losing side of a fork, queued for an operator by Failback like any write a lost
 * home acknowledged under `local` (dev chaos seed 2). Costs one log read per refusal or no-op, and one
 * write on the first of them after a change of home. Bug switch `local-refusal-unsealed` skips it.
 */
export async function sealBeforeLocalAnswer(
  deps: HeadCopyDeps,
  aggregate: AnyAggregate,
  record: StateRecord,
  writer: { readonly epoch: number } | undefined,
): Promise<DomainEvent | undefined> {
  if (aggregate.tier !== 'core' || deps.replicateBeforeAck || !writer || record.seq === 0) return undefined;
  if (bugEnabled('local-refusal-unsealed')) return undefined;
  const head = await headOf(deps, aggregate, record);
  return head && head.epoch < writer.epoch ? epochNoOp(writer.epoch) : undefined;
}
