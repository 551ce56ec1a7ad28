import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import type { Cluster } from '../routing/cluster.ts';
import { applierOf, failoverToC, lazyCluster, quarantinedReasons } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, devTopology, log, quorumTopology } from './late-delivery-world.ts';

/**
 * review-finding-2 (adversarial review of fix-finding-2): the gap fetch of a parked run is read from its
 * FIRST parked event's origin.
 *
 * Interleaving: A (home) writes seq 3 and 4; its seq 4 reaches B first and parks there behind the gap at 3;
 * both reach the new home-to-be C (the stream, or C is A's quorum peer). A is lost; Failover A -> C (B cut).
 * A's bus message for seq 3 never comes (lost with the region, or it comes and the cut refuses it). C writes
 * seq 5 (acknowledged); at B it parks behind the same gap. README (Failover cut): "What the new home holds
 * and a survivor lacked reaches that survivor from the home: the next event of the aggregate parks behind
 * the gap, which is fetched from the home's log". Not here: the gap is fetched from A's log (A's seq 4 is
 * the first parked event), A's seq 3 read there has origin = source, the cut refuses it and it is
 * quarantined SupersededByFailover although it IS in the home's history; the fetch stops, C's seq 5 stays
 * parked behind it, and the parked sweeper repeats that forever: B never converges on the aggregate until
 * the nightly Repair (Failback heals only the returning region). Before the cut the same fetch from A's log
 * appended seq 3 (on C's branch) and B drained 4 and 5. While A is unreachable the fetch fails outright
 * (pre-existing, same for both); this is A reachable again before its Failback, or a lost home answering
 * reads only.
 */

const cluster = lazyCluster();

describe('review-finding-2: a parked run behind a lost home’s event', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  const scenario = async (c: Cluster, prefix: string, quorum: boolean) => {
    const { id, partition, unreplicated } = await account(c, prefix); // A's seq 3 only in A
    const fourth = await acknowledged(c, A, id, 7); // A's seq 4
    await c.replicate(A, C, 'account', id); // C holds A's 3 and 4 (its stream delivery, or its quorum copy)
    let offsetMs = 0;
    const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs) });
    expect((await applyB(structuredClone(fourth))).status).toBe('parked'); // before the loss
    await failoverToC(c, partition, quorum ? quorumTopology : undefined);
    const fifth = await acknowledged(c, C, id, 5); // the new home's acknowledged seq 5
    expect(fifth.seq).toBe(5);
    expect((await applyB(structuredClone(fifth))).status).toBe('parked');
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    const again = await applyB(structuredClone(fifth));
    return { id, unreplicated, again };
  };

  for (const quorum of [false, true]) {
    it(`FINDING (fixed, ${quorum ? 'quorum' : 'local'} ack): C’s seq 5 parked behind A’s parked seq 4 brings B onto C’s history: the gap is read from C’s log (the highest parked epoch’s origin), nothing is quarantined`, async () => {
      const c = await cluster();
      const { id, unreplicated, again } = await scenario(c, `r2-park-${quorum ? 'q' : 'l'}`, quorum);
      const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
      // What must hold: the home's next event brings the survivor onto the home's history.
      expect({
        again: again.status,
        quarantined: await quarantinedReasons(c, B, unreplicated.eventId),
      }).toEqual({ again: 'applied', quarantined: [] });
      expect(atB.map((e) => e.eventId)).toEqual(atC.map((e) => e.eventId));
    });
  }

  it('FINDING with gap-fetch-first-origin-only: the gap is read from A’s log, A’s seq 3 (in C’s history) is quarantined SupersededByFailover and C’s seq 5 stays parked', async () => {
    const c = await cluster();
    const { id, unreplicated, again } = await withBug('gap-fetch-first-origin-only', () =>
      scenario(c, 'r2-park-first', false),
    );
    expect(again.status).toBe('parked');
    expect(await quarantinedReasons(c, B, unreplicated.eventId)).toEqual(['SupersededByFailover']);
    expect((await log(c, B, id)).map((e) => e.seq)).toEqual([1, 2]);
    expect((await log(c, C, id)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('control: with applier-ignores-failover-cut the same fetch from A’s log converges B on C', async () => {
    const c = await cluster();
    const { id, again } = await withBug('applier-ignores-failover-cut', () =>
      scenario(c, 'r2-park-bug', false),
    );
    expect(again.status).toBe('applied');
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atC.map((e) => e.eventId));
  });
});
