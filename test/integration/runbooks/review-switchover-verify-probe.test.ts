import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Adversarial review of i15-switchover (cooperative switchover).
 *
 * Guarantee attacked: a cooperative Switchover lets the new home write AT ONCE after Unfence
 * (`sourceConfirmed`, no lease + skew hold). That is the whole point of the branch: the user whose
 * partition moves keeps writing. But the machine still runs VerifyProbe right after Unfence, and
 * VerifyProbe demands that every core row of the partition be identical in the old and the new home.
 * Before this branch the new home could not write until lease + skew after the unfence, so the rows were
 * quiesced; now a single acknowledged write at the new home between Unfence and VerifyProbe (a
 * replication lag away from the old home) fails the probe, and the machine runs Rollback
 * (catchInto(rollback, ..., verifyProbe)):
 * - if the old home lacks the write yet: `RollbackRefused`, the execution FAILS (alarm
 *   `multiactive-<env>-runbook-Switchover-failed`), CheckOtherTiers never runs;
 * - if the write reached the old home meanwhile: Rollback fences the new home, waits lease + skew and
 *   moves the partition BACK to the old home (a completed switchover undone: two more lease + skew holds
 *   of core unavailability).
 * The tests drive the real tasks in the machine's order (VerifyProbe, and Rollback on its failure, as the
 * state machine does) and expect the switchover to end with the partition at the new home, active.
 * Fixed: the machine runs VerifyProbe before MoveHome (still fenced); run after the unfence, it checks
 * the logs (the target holds every core event the source holds), not the rows. Bug switch
 * `probe-rows-after-unfence` brings the row comparison after the unfence back.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 1_500, skewMarginMs: 500 });
  return shared;
};

function runbook(c: Cluster) {
  const run = createRunbookDispatcher({
    ...clusterRunbookDeps(c, B),
    watermarkPoll: { intervalMs: 20, budgetMs: 200 },
  });
  const state: Record<string, unknown> = {};
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'switchover', task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
  return { state, task };
}

/**
 * A cooperative switchover A -> B; a client deposits at B right after Unfence (it may: no hold); then
 * VerifyProbe, and Rollback if it fails, exactly as the machine chains them. `replicateFirst`: B's
 * deposit reaches A before Rollback runs (the bus delivered it meanwhile).
 */
async function scenario(replicateFirst: boolean) {
  const c = await cluster();
  const accounts = new CheckedAccounts(c);
  const id = c.freshId('rv-probe');
  const partition = partitionOf(id, PARTITIONS);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await c.replicate(A, B, 'account', id);
  const { state, task } = runbook(c);
  Object.assign(state, { partitions: [partition], to: B, run: { id: `rv-probe-${id}` } });
  await task('Fence');
  let check = await task('CheckWatermark');
  for (let poll = 0; check.caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(20);
    await c.replicate(A, B, 'account', id);
    check = await task('CheckWatermark');
  }
  await task('MoveHome');
  const unfence = await task('Unfence');
  expect(unfence.active).toEqual([expect.objectContaining({ sourceConfirmed: true })]);
  // The new home writes at once: this is what the cooperative unfence is for.
  const write = await accounts.deposit(B, id, 5);
  expect(write.status).toBe(200);
  let probeError: string | null = null;
  let rollback: Record<string, unknown> | null = null;
  let rollbackError: string | null = null;
  try {
    await task('VerifyProbe');
  } catch (error) {
    probeError = (error as Error).message;
    if (replicateFirst) await c.replicate(B, A, 'account', id);
    try {
      rollback = await task('Rollback');
    } catch (failed) {
      rollbackError = `${(failed as Error).name}: ${(failed as Error).message}`;
    }
  }
  const entry = await c.cells[B].map.read(partition);
  return { probeError, rollback, rollbackError, entry };
}

describe('review: VerifyProbe after a cooperative unfence races the new home’s first writes', {
  timeout: 120_000,
}, () => {
  afterEach(() => disableAllBugs());

  it('a deposit the new home acknowledges right after Unfence must not fail the switchover (RollbackRefused)', async () => {
    const out = await scenario(false);
    // On i15-switchover: VerifyProbe throws ProbeFailedError ("account/... differs between us-east-1 and
    // eu-west-1"), Rollback refuses (eu-west-1 holds a core event us-east-1 lacks): the execution fails.
    expect(out.probeError).toBeNull();
    expect(out.rollbackError).toBeNull();
    expect(out.entry).toEqual(expect.objectContaining({ home: B, state: 'active' }));
  });

  it('nor move the partition back to the old home once the deposit replicated there', async () => {
    const out = await scenario(true);
    // On i15-switchover: VerifyProbe fails, Rollback fences B, waits lease + skew and restores A.
    expect(out.probeError).toBeNull();
    expect(out.rollback).toBeNull();
    expect(out.entry).toEqual(expect.objectContaining({ home: B, state: 'active' }));
  });

  it('with probe-rows-after-unfence: the probe compares rows after the unfence and the move is undone', async () => {
    const out = await withBug('probe-rows-after-unfence', () => scenario(false));
    expect(out.probeError).toMatch(/differs between/);
    expect(out.rollbackError).toMatch(/RollbackRefused/);
  });
});
