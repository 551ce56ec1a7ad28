import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cluster, command, deposit, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Review of i15-switchover-2 (failing by design; see the report). MoveHome now makes the new home active in
 * the same change as the move, so from MoveHome on the entry is an ACTIVE entry of run R1, which anyone may
 * fence (before, it stayed "B, fenced, R1" until Unfence, and another switchover's Fence skipped it).
 * Interleaving (R1: A -> B; R2: B -> C):
 * 1. R1: Fence, CheckWatermark (own-copy), VerifyProbe, MoveHome: "B, active, R1". A later step of R1 fails
 *    (here: the test calls Rollback, as the machine's Catch does after an Unfence or CheckOtherTiers error).
 * 2. R1's Rollback reads the entry (B, active, R1: its own) and starts `moveBack`; its first `whyNotBack`
 *    (observe + log reads) takes a while.
 * 3. Meanwhile R2 runs a whole switchover B -> C (its Fence may fence R1's active entry) and C, active at
 *    once, acknowledges a core write W.
 * 4. R1's Rollback goes on: `fencePartition(map, p, 'rehome', R1)` accepts ANY active entry (ownEntry's
 *    `fencing` exception), so it fences R2's "C, active" with R1's stamp; waits lease + skew; compares the
 *    old home A with B (the home it read in step 2, not C); A holds every event B holds, so it moves the
 *    partition to A and unfences it there.
 * A becomes the home without W, which C acknowledged: a lost (and, at A's next write, forked) core write.
 * The rollback must leave alone an entry someone else changed since its read (as its doc says), not fence it.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const C: RegionName = 'ap-southeast-1';
const PARTITIONS = 256;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 1_500, skewMarginMs: 500 });
  return shared;
};

function runbook(c: Cluster, region: RegionName, observe?: RunbookDeps['observe']) {
  const run = createRunbookDispatcher({
    ...clusterRunbookDeps(c, region, observe),
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

/** Fence -> CheckWatermark (replicating `from` -> `to` between polls) -> VerifyProbe -> MoveHome. */
async function moveAtOnce(
  c: Cluster,
  rb: ReturnType<typeof runbook>,
  move: { id: string; from: RegionName; to: RegionName; run: string },
) {
  Object.assign(rb.state, {
    partitions: [partitionOf(move.id, PARTITIONS)],
    to: move.to,
    run: { id: move.run },
  });
  await rb.task('Fence');
  let check = await rb.task('CheckWatermark');
  for (let poll = 0; check.caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(20);
    await c.replicate(move.from, move.to, 'account', move.id);
    check = await rb.task('CheckWatermark');
  }
  expect(check.partitions).toEqual([expect.objectContaining({ confirmedBy: 'own-copy' })]);
  await rb.task('VerifyProbe');
  const moved = await rb.task('MoveHome');
  expect(moved.moved).toEqual([expect.objectContaining({ home: move.to, state: 'active' })]);
}

/** R1 (A -> B) moved at once, R2 (B -> C) runs during R1's Rollback and C acknowledges W: what is left. */
async function scenario(c: Cluster) {
  const accounts = new CheckedAccounts(c);
  const id = c.freshId('rb-race');
  const partition = partitionOf(id, PARTITIONS);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await c.replicate(A, B, 'account', id);

  // R2 (B -> C) runs while R1's Rollback is in its first check (the observation of the old home).
  let acknowledged: string | undefined;
  let raced = false;
  const observe: RunbookDeps['observe'] = async () => {
    if (!raced) {
      raced = true;
      const r2 = runbook(c, C);
      await moveAtOnce(c, r2, { id, from: B, to: C, run: `r2-${id}` });
      const w = await command(c.cells[C], 'account', id, deposit(7));
      expect(w.status).toBe(200);
      const log = await c.cells[C].events.loadStream('account', id);
      acknowledged = log.at(-1)!.eventId;
    }
    return { reachable: true, heartbeatAgeMs: 0 };
  };
  const r1 = runbook(c, B, observe);
  await moveAtOnce(c, r1, { id, from: A, to: B, run: `r1-${id}` });

  // A later step of R1 failed: the machine's Catch runs Rollback.
  const rollback = await r1.task('Rollback').catch((error: unknown) => ({ error: String(error) }));
  expect(raced).toBe(true);
  expect(acknowledged).toBeDefined();

  const entry = await c.cells[A].map.read(partition);
  const homeLog = await c.cells[entry!.home as RegionName].events.loadStream('account', id);
  const outcome =
    'error' in rollback
      ? rollback.error
      : (rollback as { restored: unknown[]; leftAlone: unknown[] }).restored.length > 0
        ? 'restored'
        : 'left-alone';
  return { outcome, home: entry!.home, homeHoldsW: homeLog.some((e) => e.eventId === acknowledged) };
}

describe('review switchover-2: a rollback racing a later switchover', { timeout: 120_000 }, () => {
  afterEach(() => disableAllBugs());

  it('never gives the partition back to the old home without a write the newer home acknowledged meanwhile', async () => {
    // Left alone (R2 changed the entry since the rollback read it): C stays home, with W.
    expect(await scenario(await cluster())).toEqual({
      outcome: 'left-alone',
      home: C,
      homeHoldsW: true,
    });
  });

  it('with rollback-fences-any-active: the rollback fences C and gives the partition to A without W', async () => {
    const c = await cluster();
    expect(await withBug('rollback-fences-any-active', () => scenario(c))).toEqual({
      outcome: 'restored',
      home: A,
      homeHoldsW: false,
    });
  });
});
