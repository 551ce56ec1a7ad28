import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { command, type RegionName, startCluster } from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Adversarial review of i15-switchover (cooperative switchover), LOW.
 *
 * Guarantee attacked: a home's core writes cost at most one majority read of the control state per lease
 * (the lease is the cache; README "Fencing" rule 1: renewed in the background past half-life). The branch
 * adds "a home whose cached entry says fenced (or not writable yet) reads the map again before it
 * answers 503" (PartitionOwnership.fenceCoreWrite, `waitingHere`), meant for the new home right after a
 * cooperative unfence. But the old home is also "a home whose cached entry says fenced" for the whole
 * time a Switchover holds the fence (CheckWatermark polls up to 75 tasks, ~5 minutes, while the target
 * lags), and a lease-path new home is "not writable yet" for lease + skew: every core write reaching it
 * (its own clients' and every forwarded one) then costs a majority read, i.e. a WAN round trip to every
 * control table, per request, instead of one per lease. Only concurrent calls in one process share a read.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;
const WRITES = 20;
const REREAD_MS = 2_000;

describe('review: a fenced home re-reads the quorum map for every refused write', { timeout: 60_000 }, () => {
  afterEach(() => disableAllBugs());

  it(`answers ${WRITES} writes to a partition fenced by a Switchover with at most a lease's worth of majority reads`, async () => {
    // Re-reads at most every 2 s (200 ms deployed): 20 writes on a loaded machine take a few seconds, and
    // the bound below must stay under one read per write for the test to tell the two apart.
    const c = await startCluster({ leaseMs: 20_000, skewMarginMs: 500, waitingRereadMs: REREAD_MS });
    const id = c.freshId('rv-reread');
    const partition = partitionOf(id, PARTITIONS);
    const open = { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } };
    expect((await command(c.cells[A], 'account', id, open)).status).toBe(200);
    const run = createRunbookDispatcher(clusterRunbookDeps(c, B));
    const state: Record<string, unknown> = { partitions: [partition], to: B, run: { id: `rv-reread-${id}` } };
    state.fence = await run({ runbook: 'switchover', task: 'Fence', input: state });
    // A learns of the fence once (its next write after the fence reads the map: 503).
    expect(
      (await command(c.cells[A], 'account', id, { type: 'Deposit', payload: { amount: 1 } })).status,
    ).toBe(503);
    const map = c.cells[A].map;
    const read = map.read.bind(map);
    let reads = 0;
    map.read = async (p: number) => {
      if (p === partition) reads++;
      return read(p);
    };
    const answers: number[] = [];
    const started = performance.now();
    for (let i = 0; i < WRITES; i++)
      answers.push(
        (await command(c.cells[A], 'account', id, { type: 'Deposit', payload: { amount: 1 } })).status,
      );
    expect(answers.every((s) => s === 503)).toBe(true);
    // On i15-switchover: one majority read per write (20), each a round trip to every control table.
    // Bounded by time, not by the number of requests: one read per interval begun (+1 for the first).
    const bound = Math.floor((performance.now() - started) / REREAD_MS) + 2;
    expect(bound, 'the writes took too long for the bound to tell one read per write apart').toBeLessThan(
      WRITES,
    );
    expect(reads).toBeLessThanOrEqual(bound);
    await run({ runbook: 'switchover', task: 'Rollback', input: state });
  });
});
