import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CopyOutcome,
  peersNeeded,
  QuorumAckError,
  type QuorumPeer,
  quorumReplicator,
} from '../../../lib/commands/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

type Behaviour = 'stores' | 'sealed' | 'fails' | 'hangs';

/** A peer (port double) whose copy answers as told; `hangs` never answers. */
function peer(region: string, behaviour: Behaviour): QuorumPeer {
  return {
    region,
    async copy(): Promise<CopyOutcome> {
      if (behaviour === 'stores') return { kind: 'stored' };
      if (behaviour === 'sealed') return { kind: 'sealed' };
      if (behaviour === 'fails') throw new Error(`${region} unreachable`);
      return new Promise<never>(() => undefined);
    },
    eventsFrom: async () => [],
    discard: async () => undefined,
  };
}

describe('quorumReplicator: a majority of all regions, copies in parallel', () => {
  it('needs floor(N / 2) peers besides the home: 1 of 1 with two regions, 1 of 2, 2 of 4', () => {
    expect([2, 3, 4, 5, 6, 7].map(peersNeeded)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('acknowledges exactly when the home and enough peers hold the write, whatever the others do', async () => {
    const behaviours = fc.constantFrom<Behaviour>('stores', 'sealed', 'fails', 'hangs');
    await fc.assert(
      fc.asyncProperty(fc.array(behaviours, { minLength: 1, maxLength: 6 }), async (answers) => {
        const peers = answers.map((b, i) => peer(`p${i}`, b));
        const hook = quorumReplicator({ region: 'home', peers, local: {} as EventStore, timeoutMs: 20 });
        const stored = answers.filter((b) => b === 'stores').length;
        const outcome = await hook([sampleEnvelope()], { epoch: 1 }).then(
          () => 'acked',
          (error: unknown) => (error instanceof QuorumAckError ? 'refused' : String(error)),
        );
        expect(outcome).toBe(stored >= peersNeeded(answers.length + 1) ? 'acked' : 'refused');
      }),
      { numRuns: 60 },
    );
  });

  it('asks every peer before any of them answers (not one after another)', async () => {
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const allAsked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = (region: string): QuorumPeer => ({
      ...peer(region, 'stores'),
      async copy() {
        most = Math.max(most, ++inFlight);
        if (inFlight === 4) release();
        // A sequential replicator gets its answer from the first peer after 100 ms, with one copy in flight.
        await Promise.race([allAsked, new Promise((resolve) => setTimeout(resolve, 100))]);
        inFlight--;
        return { kind: 'stored' };
      },
    });
    const hook = quorumReplicator({
      region: 'home',
      peers: ['a', 'b', 'c', 'd'].map(waiting),
      local: {} as EventStore,
      timeoutMs: 5_000,
    });
    await hook([sampleEnvelope()], { epoch: 1 });
    expect(most).toBe(4);
  });

  it('with the bug switch single-peer-quorum, asks one peer at a time and takes the first copy', async () => {
    const asked: string[] = [];
    const counting = (region: string, behaviour: Behaviour): QuorumPeer => ({
      ...peer(region, behaviour),
      async copy() {
        asked.push(region);
        return peer(region, behaviour).copy([], { epoch: 1 });
      },
    });
    const hook = quorumReplicator({
      region: 'home',
      peers: [
        counting('a', 'fails'),
        counting('b', 'stores'),
        counting('c', 'stores'),
        counting('d', 'fails'),
      ],
      local: {} as EventStore,
    });
    await withBug('single-peer-quorum', () => hook([sampleEnvelope()], { epoch: 1 }));
    expect(asked).toEqual(['a', 'b']);
  });
});
