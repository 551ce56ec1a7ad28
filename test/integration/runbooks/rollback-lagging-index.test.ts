import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import {
  createRunbookDispatcher,
  RollbackRefusedError,
  type RunbookDeps,
} from '../../../lib/runbooks/index.ts';
import { type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { clusterRunbookDeps, lagging } from './runbook-cells.ts';

const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

/**
 * Review of issue 11, scenario 1's rule "Rollback must never move a partition whose new home has acknowledged
 * writes the old home lacks": `whyNotBack` (lib/runbooks/switchover-rollback.ts) compares the two regions
 * with `listLeaves`, the eventually consistent by-partition index (scenario 5's class). The switchover
 * moved p to B; B acknowledges a deposit its index does not list yet; VerifyProbe fails and Rollback runs:
 * it finds nothing B holds that A lacks, fences B, waits lease + skew, checks the index again and gives p
 * back to A, which then writes the seq B acknowledged (B's deposit is lost at A, the log forks).
 * Fixed: whyNotBack reads B's core markers and both logs strongly consistently (lib/runbooks/core-lacking.ts);
 * the switch `index-trusting-watermark` brings the index-based comparison back, and each test runs both ways.
 */
/** The interleaving: p switched over to B, B acknowledges a deposit its index does not list, Rollback runs. */
async function rollbackScenario() {
  const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
  const accounts = new CheckedAccounts(cluster);
  const id = cluster.freshId('rv-rb-lag');
  const partition = partitionOf(id, PARTITIONS);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await cluster.replicate(A, B, 'account', id);
  const hidden = new Set<string>();
  const base = clusterRunbookDeps(cluster, B);
  const deps: RunbookDeps = {
    ...base,
    cell: (name) => {
      const cell = base.cell(name);
      return name === B ? { ...cell, source: lagging(cell.source, hidden) } : cell;
    },
  };
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions: [partition], to: B, run: { id: 'rv-rb-lag-run' } };
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'switchover', task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
  await task('Fence');
  for (let poll = 0; (await task('CheckWatermark')).caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(50);
    await sleep(20);
  }
  await task('MoveHome');
  const { writableFrom } = await task('Unfence');
  await sleep(Math.max(0, Number(writableFrom) - Date.now()) + 20);
  expect((await accounts.deposit(B, id, 5)).status).toBe(200);
  const acked = (await cluster.cells[B].events.loadStream('account', id)).at(-1)!;
  hidden.add(acked.eventId);
  // VerifyProbe failed (say A was slow): the machine runs Rollback.
  state.error = { Error: 'ProbeFailed' };
  const rollback = await task('Rollback').then(
    (output) => ({ refused: false, output }),
    (error: Error) => ({ refused: error instanceof RollbackRefusedError, output: error.message }),
  );
  const entry = await deps.map.read(partition);
  return { cluster, accounts, id, acked, rollback, entry };
}

describe('review i11: Switchover Rollback compares logs through the eventually consistent index', {
  timeout: 120_000,
}, () => {
  afterEach(() => disableAllBugs());

  it('refuses to give the partition back while the new home holds an acknowledged write the old home lacks', async () => {
    const { rollback, entry, acked } = await rollbackScenario();
    expect({ refused: rollback.refused, home: entry?.home }).toEqual({ refused: true, home: B });
    expect(rollback.output).toContain(acked.eventId);
  });

  it('with index-trusting-watermark: gives the partition back and the old home rewrites the acknowledged seq', async () => {
    const { cluster, accounts, id, acked, rollback, entry } = await withBug(
      'index-trusting-watermark',
      rollbackScenario,
    );
    expect({ refused: rollback.refused, home: entry?.home }).toEqual({ refused: false, home: A });
    await sleep(Math.max(0, entry!.activeFrom - Date.now()) + 20);
    expect((await accounts.deposit(A, id, 7)).status).toBe(200);
    const atA = (await cluster.cells[A].events.loadStream('account', id)).find((e) => e.seq === acked.seq);
    expect(atA?.origin).toBe(A);
    expect(atA?.eventId).not.toBe(acked.eventId);
  });
});
