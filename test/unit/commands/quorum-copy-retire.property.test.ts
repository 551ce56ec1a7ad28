import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyToPeer, PeerDivergedError, type QuorumPeer } from '../../../lib/commands/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

/** A peer's log in memory (port double): stores a run only on top of its predecessor, retires on demand. */
function memoryPeer(log: readonly EventEnvelope[]) {
  const held = new Map(log.map((e) => [e.seq, e]));
  const retired: EventEnvelope[] = [];
  const peer: QuorumPeer = {
    region: 'holder',
    async copy(events) {
      const first = events[0]!;
      if (first.seq > 1 && held.get(first.seq - 1)?.hlc !== first.prev) return { kind: 'behind' };
      for (const e of events) {
        const existing = held.get(e.seq);
        if (existing && existing.eventId !== e.eventId) return { kind: 'conflict', existing };
      }
      for (const e of events) held.set(e.seq, e);
      return { kind: 'stored' };
    },
    eventsFrom: async (_type, _id, fromSeq) =>
      [...held.values()].filter((e) => e.seq >= fromSeq).sort((a, b) => a.seq - b.seq),
    async retire({ losing }) {
      for (const e of losing) held.delete(e.seq);
      retired.push(...losing);
    },
    discard: async () => undefined,
  };
  return { peer, retired, log: () => [...held.values()].sort((a, b) => a.seq - b.seq) };
}

/** Events chained on `after` (seq and prev), one per epoch given. */
function chain(after: EventEnvelope, epochs: readonly number[], origin: string): EventEnvelope[] {
  const run: EventEnvelope[] = [];
  let prev = after;
  for (const epoch of epochs) {
    prev = sampleEnvelope({ seq: prev.seq + 1, prev: prev.hlc, epoch, origin });
    run.push(prev);
  }
  return run;
}

/**
 * The peer holds the open event and then another branch (a lost home's unacknowledged copies, delivered
 * late by the bus), written in `branchEpochs`; the writer at `writerEpoch` copies its next event.
 */
async function copyOverBranch(branchEpochs: readonly number[], writerEpoch: number) {
  const open = sampleEnvelope({ seq: 1, epoch: 0 });
  const branch = chain(open, branchEpochs, 'us-east-1');
  const [write] = chain(open, [writerEpoch], 'eu-west-1');
  const holder = memoryPeer([open, ...branch]);
  const homeLog = [open, write!];
  const outcome = await copyToPeer({
    peer: holder.peer,
    events: [write!],
    epoch: writerEpoch,
    home: async (from, to) => homeLog.filter((e) => e.seq >= from && e.seq <= to),
  }).then(
    () => 'stored',
    (error: unknown) => (error instanceof PeerDivergedError ? 'diverged' : String(error)),
  );
  return { outcome, branch, write: write!, holder };
}

describe("copyToPeer: a peer's other branch is retired only when every event of it is older than the writer's epoch", () => {
  it('retires a branch of earlier epochs and stores the copy; refuses (PeerDivergedError) otherwise, the peer untouched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (branchEpochs, writerEpoch) => {
          const { outcome, branch, write, holder } = await copyOverBranch(branchEpochs, writerEpoch);
          const older = branchEpochs.every((e) => e < writerEpoch);
          expect(outcome).toBe(older ? 'stored' : 'diverged');
          expect(holder.retired.map((e) => e.eventId)).toEqual(older ? branch.map((e) => e.eventId) : []);
          expect(
            holder
              .log()
              .slice(1)
              .map((e) => e.eventId),
          ).toEqual(older ? [write.eventId] : branch.map((e) => e.eventId));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a stale writer (epoch 2) never retires a newer home’s event (epoch 3)', async () => {
    const { outcome, holder, branch } = await copyOverBranch([3], 2);
    expect({ outcome, retired: holder.retired.length }).toEqual({ outcome: 'diverged', retired: 0 });
    expect(holder.log().at(-1)?.eventId).toBe(branch[0]!.eventId);
  });

  it('with the bug switch quorum-retire-any-epoch, the stale writer retires it', async () => {
    const { outcome, holder, branch } = await withBug('quorum-retire-any-epoch', () =>
      copyOverBranch([3], 2),
    );
    expect(outcome).toBe('stored');
    expect(holder.retired.map((e) => e.eventId)).toEqual([branch[0]!.eventId]);
  });

  it('a peer without a retirer refuses any other branch, as before', async () => {
    const open = sampleEnvelope({ seq: 1 });
    const [stale] = chain(open, [1], 'us-east-1');
    const [write] = chain(open, [2], 'eu-west-1');
    const { retire: _, ...bare } = memoryPeer([open, stale!]).peer;
    const copied = copyToPeer({ peer: bare, events: [write!], epoch: 2, home: async () => [open] });
    await expect(copied).rejects.toBeInstanceOf(PeerDivergedError);
  });
});
