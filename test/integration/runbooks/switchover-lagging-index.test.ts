import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { clusterRunbookDeps, lagging } from './runbook-cells.ts';

const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

/**
 * Review of issue 11 (scenario 5's class: trusting the eventually consistent by-partition index). Switchover
 * decides that the target holds every core event of the source from `listLeaves` (`blockingMissing`,
 * lib/runbooks/switchover-plan.ts), and the Switchover Rollback decides that the old home holds what the new
 * home acknowledged the same way (`whyNotBack`, lib/runbooks/switchover-rollback.ts). When the source's GSI
 * has not listed its last acknowledged core write yet, CheckWatermark reports caught up, the home moves,
 * and the new home writes the same seq again: the acknowledged write is lost (a forked log).
 * Fixed: both decisions read core markers and logs strongly consistently (lib/runbooks/core-lacking.ts);
 * the switch `index-trusting-watermark` brings the index-based check back, and each test runs both ways.
 * On AWS this needs a GSI lag longer than the time from the fence to the check (no Wait before the first
 * poll since the cooperative switchover: a few hundred ms); DynamoDB Local's
 * index is synchronous, so the lag is simulated exactly as test/integration/quorum/repair-keeps-copies does.
 */
/** The interleaving: A acknowledges a core deposit B lacks and A's index does not list; Switchover to B. */
async function lagScenario() {
  const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
  const accounts = new CheckedAccounts(cluster);
  const id = cluster.freshId('rv-lag');
  const partition = partitionOf(id, PARTITIONS);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await cluster.replicate(A, B, 'account', id);
  // Acknowledged by A, not yet replicated to B, and not yet in A's by-partition index.
  expect((await accounts.deposit(A, id, 20)).status).toBe(200);
  const acked = (await cluster.cells[A].events.loadStream('account', id)).at(-1)!;
  const hidden = new Set([acked.eventId]);
  const base = clusterRunbookDeps(cluster, B);
  const deps: RunbookDeps = {
    ...base,
    cell: (name) => {
      const cell = base.cell(name);
      return name === A ? { ...cell, source: lagging(cell.source, hidden) } : cell;
    },
  };
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions: [partition], to: B, run: { id: 'rv-lag-run' } };
  const task = async (name: string) => {
    state[name[0]!.toLowerCase() + name.slice(1)] = await run({
      runbook: 'switchover',
      task: name,
      input: state,
    });
    return state[name[0]!.toLowerCase() + name.slice(1)] as Record<string, unknown>;
  };
  await task('Fence');
  await sleep(400);
  const check = await task('CheckWatermark');
  if (check.caughtUp === true) {
    await task('MoveHome');
    const { writableFrom } = await task('Unfence');
    await sleep(Math.max(0, Number(writableFrom) - Date.now()) + 20);
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);
  }
  const log = await cluster.cells[B].events.loadStream('account', id);
  return { check, acked, log };
}

describe('review i11: Switchover decides caught-up from the eventually consistent index', {
  timeout: 120_000,
}, () => {
  afterEach(() => disableAllBugs());

  it('never moves a partition while the source holds an acknowledged core write the target lacks', async () => {
    const { check, acked, log } = await lagScenario();
    // Either the switchover waits (not caught up), or the new home holds A's acknowledged deposit.
    if (check.caughtUp === true) expect(log.map((e) => e.eventId)).toContain(acked.eventId);
    // Since switchover-3: the write the index does not list yet is found through A's core markers and,
    // A's own copy carrying the fence, delivered to B by CheckWatermark itself; B then writes after it.
    expect(check.caughtUp).toBe(true);
    expect(check.partitions).toEqual([
      expect.objectContaining({ missing: 0, delivered: 1, sourceFenced: true, confirmedBy: 'own-copy' }),
    ]);
    expect(log.find((e) => e.seq === acked.seq)?.eventId).toBe(acked.eventId);
  });

  it('with index-trusting-watermark: moves the partition and the new home writes the acknowledged seq again', async () => {
    const { check, acked, log } = await withBug('index-trusting-watermark', lagScenario);
    expect(check.caughtUp).toBe(true);
    expect(log.map((e) => e.eventId)).not.toContain(acked.eventId);
    const atSeq = log.find((e) => e.seq === acked.seq);
    expect(atSeq?.origin).toBe(B);
    expect(atSeq?.eventId).not.toBe(acked.eventId);
  });
});
