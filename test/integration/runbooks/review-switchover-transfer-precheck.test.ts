import { afterEach, describe, expect, it } from 'vitest';
import { exampleSagas } from '../../../examples/bank/index.ts';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { regionSagas } from '../../../lib/sagas/index.ts';
import { type Cluster, command, type RegionName, startCluster } from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Adversarial review of i15-switchover (cooperative switchover).
 *
 * Guarantee attacked: "a refusal is given only by the writable home ... never a decision taken on a
 * stale replica" (README, Fencing rule 5), which the branch extends with `confirmAnswer` for command
 * refusals: after a cooperative unfence the new home writes at once, while the old home's cached lease
 * still runs, so any answer the old home gives from its own rows must re-read its copy of the entry.
 *
 * Path that does not: the transfer API's dry run (`precheck`, lib/sagas/begin.ts) answers
 * 422 `InsufficientFunds` from the source account's state "at the home" (`RoutedCommandPort.read`):
 * `homes.entryFor(partition)` returns the CACHED lease, and when it names this region the row is read
 * locally with no check of the local copy; when it names another region the GET is forwarded there and
 * that region's GET serves its own row, again with no fence check. Before this branch a lease-valid cached
 * entry meant the new home could not have written yet (it waited lease + skew); now the new home
 * acknowledges a deposit right after the unfence and the old home (or a region whose cache names it)
 * refuses a transfer that deposit covers: a refusal no linearization allows.
 * Fixed: the dry run's read at the home confirms its own copy of the entry first (locally, and through
 * `X-Multiactive-Home-Read` on a forwarded GET: 421 when no longer home). Bug switch
 * `dry-run-reads-unconfirmed` brings the unconfirmed read back.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const C: RegionName = 'ap-southeast-1';
const PARTITIONS = 256;
/** Long enough that every region's cached lease outlives the scenario. */
const LEASE_MS = 20_000;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({
    leaseMs: LEASE_MS,
    skewMarginMs: 500,
    forwardTimeoutMs: 5_000,
    sagas: (cell) =>
      regionSagas({
        sagas: exampleSagas,
        commands: cell.commands,
        router: cell.router,
        homes: cell.ownership,
        // The saga's execution is not run: only the API's answer to the begin matters here.
        starter: { start: async () => undefined },
        states: { client: cell.tables.doc, tableName: cell.tables.tables.state },
        timers: { holdMs: 60_000, resumeAfterMs: 30_000, waitMs: 0 },
      }).api,
  });
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
 * `src` (balance 10) and `dst` homed in A; `via` has routed a write of `src` (so its cache holds the
 * entry). Cooperative switchover of src's partition A -> B; B acknowledges a deposit of 100; then a
 * transfer of 50 from src is posted to `via`.
 */
async function scenario(via: RegionName) {
  const c = await cluster();
  const src = c.freshId('rv-src');
  const dst = c.freshId('rv-dst');
  const partition = partitionOf(src, PARTITIONS);
  const open = (id: string) => ({ type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } });
  expect((await command(c.cells[A], 'account', src, open(src))).status).toBe(200);
  expect((await command(c.cells[A], 'account', dst, open(dst))).status).toBe(200);
  // The deposit goes through `via` (forwarded to A when `via` is not A): `via` caches "src's home is A".
  const funded = await command(c.cells[via], 'account', src, { type: 'Deposit', payload: { amount: 10 } });
  expect(funded.status).toBe(200);
  for (const to of [B, C]) {
    await c.replicate(A, to, 'account', src);
    await c.replicate(A, to, 'account', dst);
  }
  const { state, task } = runbook(c);
  Object.assign(state, { partitions: [partition], to: B, run: { id: `rv-precheck-${src}` } });
  await task('Fence');
  for (let poll = 0; (await task('CheckWatermark')).caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(20);
    await c.replicate(A, B, 'account', src);
  }
  await task('MoveHome');
  const unfence = await task('Unfence');
  expect(unfence.active).toEqual([expect.objectContaining({ sourceConfirmed: true })]);
  const credited = await command(c.cells[B], 'account', src, { type: 'Deposit', payload: { amount: 100 } });
  expect(credited.status).toBe(200);
  expect((credited.body.state as { balance: number }).balance).toBe(110);
  const transfer = await c.cells[via].call({
    method: 'POST',
    path: '/v1/transfers',
    body: JSON.stringify({ from: src, to: dst, amount: 50, idempotencyKey: `rv-${src}` }),
  });
  return transfer;
}

describe('review: the transfer dry run refuses on the old home’s state after a cooperative switchover', {
  timeout: 120_000,
}, () => {
  afterEach(() => disableAllBugs());

  it('posted at the old home: no InsufficientFunds once the new home acknowledged a covering deposit', async () => {
    const answer = await scenario(A);
    // On i15-switchover: 422 InsufficientFunds (available 10), decided on A's row under A's cached lease.
    expect(answer.body.error).not.toBe('InsufficientFunds');
    expect(answer.status).not.toBe(422);
  });

  it('posted at a third region whose cache names the old home: the same', async () => {
    const answer = await scenario(C);
    // On i15-switchover: C's local row refuses, C forwards the read to A (cached home), A serves its row.
    expect(answer.body.error).not.toBe('InsufficientFunds');
    expect(answer.status).not.toBe(422);
  });

  it('with dry-run-reads-unconfirmed: the old home (or a forwarded GET to it) refuses on its stale row', async () => {
    for (const via of [A, C]) {
      const answer = await withBug('dry-run-reads-unconfirmed', () => scenario(via));
      expect(answer.status).toBe(422);
      expect(answer.body.error).toBe('InsufficientFunds');
    }
  });
});
