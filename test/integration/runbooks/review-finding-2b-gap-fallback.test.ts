import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs } from '../../../lib/faults/index.ts';
import { applierOf, failoverToC, lazyCluster, quarantinedReasons } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, devTopology, log } from './late-delivery-world.ts';

/**
 * review-finding-2b: gapSources' fallback. The parked origins are tried highest epoch first; one that does
 * not answer (GapFetchError) passes to the next, here the lost home A, whose own log is read with the cut
 * checked at A's own (pre-cut) epoch. Checked: no fork, and convergence once the home answers again.
 */

const cluster = lazyCluster();

describe('review-finding-2b: the gap source fallback while the home is unreachable', {
  timeout: 120_000,
}, () => {
  afterEach(() => {
    disableAllBugs();
  });

  it('C (home, highest parked epoch) unreachable: the fetch falls back to A’s log, where the cut refuses A’s seq 3 (quarantined though it is in C’s history); once C answers, B converges on C (the quarantine record stays)', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'r2b-fallback');
    const fourth = await acknowledged(c, A, id, 7);
    await c.replicate(A, C, 'account', id);
    let offsetMs = 0;
    const down = new Set<string>();
    const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs), down });
    expect((await applyB(structuredClone(fourth))).status).toBe('parked');
    await failoverToC(c, partition);
    const fifth = await acknowledged(c, C, id, 5);
    expect((await applyB(structuredClone(fifth))).status).toBe('parked');
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    down.add(C);
    // Every source failing to fill the gap: the first failure (C's) is thrown, the delivery retried.
    await expect(applyB(structuredClone(fifth))).rejects.toThrow(/from ap-southeast-1/);
    expect((await log(c, B, id)).map((e) => e.seq)).toEqual([1, 2]);
    expect(await quarantinedReasons(c, B, unreplicated.eventId)).toEqual(['SupersededByFailover']);
    down.delete(C);
    const again = await applyB(structuredClone(fifth));
    expect(again.status).toBe('applied');
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atC.map((e) => e.eventId));
  });
});
