import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { lagging } from '../runbooks/runbook-cells.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import { REGIONS_3, runTasks, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const HOME = 'us-east-1';
const NEW_HOME = 'eu-west-1';
const THIRD = 'ap-southeast-1';

/** The Repair machine's tasks for some partitions, the way its Map state runs them. */
async function runRepair(deps: RunbookDeps, partitions: number[]) {
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions };
  state.listPartitions = await run({ runbook: 'repair', task: 'ListPartitions', input: state });
  const items = (state.listPartitions as { partitions: Array<Record<string, unknown>> }).partitions;
  const outputs = [];
  for (const item of items) {
    const it: Record<string, unknown> = { ...item };
    it.buildTrees = await run({ runbook: 'repair', task: 'BuildTrees', input: it });
    it.diff = await run({ runbook: 'repair', task: 'Diff', input: it });
    outputs.push(await run({ runbook: 'repair', task: 'Replay', input: it }));
  }
  state.repairPartitions = outputs;
  return run({ runbook: 'repair', task: 'Report', input: state });
}

/**
 * Issue 11, scenario 5. The home acknowledges a deposit held by itself and the new home-to-be (its link to
 * the third region is cut), and Repair runs while the home's by-partition index does not list it yet.
 * Then the home is lost, Failover runs, and the new home takes a deposit.
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const id = `s5-${Date.now().toString(36)}`;
  const partition = partitionOf(id, cluster.topology.partitions);
  expect(await client.send(HOME, 'open', id)).toBe(200);
  for (const region of [NEW_HOME, THIRD]) await cluster.replicate(HOME, region, 'account', id);
  cluster.links.cut(HOME, THIRD);
  const acked = await client.send(HOME, 'deposit', id, 10);
  cluster.links.heal();
  const written = (await cluster.regions[HOME]!.events.loadStream('account', id)).at(-1)!;
  const hidden = new Set([written.eventId]);
  const repairDeps = cluster.runbookDeps(NEW_HOME, {
    source: (region, source) => (region === HOME ? lagging(source, hidden) : source),
  });
  const report = await runRepair(repairDeps, [partition]);
  const holders = [];
  for (const region of REGIONS_3)
    if (
      (await cluster.regions[region]!.events.loadStream('account', id)).some(
        (e) => e.eventId === written.eventId,
      )
    )
      holders.push(region);
  cluster.links.isolate(HOME);
  const run = createRunbookDispatcher(cluster.runbookDeps(NEW_HOME));
  const state = await runTasks(run, 'failover', RUNBOOK_TASKS.failover, { region: HOME, trigger: 'test' });
  await untilWritable(state, cluster);
  const after = await client.send(NEW_HOME, 'deposit', id, 5);
  const row = await cluster.regions[NEW_HOME]!.states.getState('account', id);
  const anomalies = await quiesceAndCheck(cluster, client, { survivors: [NEW_HOME, THIRD], ids: [id] });
  return { acked, report, holders, after, balance: JSON.parse(row!.state).balance, anomalies };
}

describe('Repair under quorum ack never removes a copy of an acknowledged write (scenario 5)', {
  timeout: 120_000,
}, () => {
  it('reads the home log consistently, keeps every copy and replays the write where it is missing', async () => {
    const { acked, holders, after, balance, anomalies } = await scenario();
    expect(acked).toBe(200);
    expect(holders).toEqual(REGIONS_3);
    expect(after).toBe(200);
    expect(balance).toBe(15);
    expect(anomalies).toEqual([]);
  });

  it('with the bug switch repair-deletes-quorum-copy, the chaos checkers report the lost acknowledged write', async () => {
    const { acked, holders, anomalies } = await withBug('repair-deletes-quorum-copy', scenario);
    expect(acked).toBe(200);
    expect(holders).toEqual([HOME]);
    expect(anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`)).toContain(
      `core/lost-write@${NEW_HOME}`,
    );
  });
});
