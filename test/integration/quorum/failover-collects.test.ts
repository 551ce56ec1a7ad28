import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import { REGIONS_3, REGIONS_5, runTasks, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const HOME = 'us-east-1';
const NEW_HOME = 'eu-west-1';

/**
 * Issue 11, scenario 6. The home acknowledges a deposit whose copies reach only survivors OTHER than the
 * region the failover will pick (its link to it is cut), is then lost, and Failover runs in the new home,
 * which then takes a deposit. With five regions the write needs two peers, and one of its two holders is
 * out of the new home's reach while the failover collects (a majority of 3 of 5 must be enough).
 */
async function scenario(names: readonly string[]) {
  const cluster = await startQuorumCluster(names);
  const client = new AccountClient(cluster);
  const id = `s6-${names.length}-${Date.now().toString(36)}`;
  const survivors = names.filter((r) => r !== HOME);
  expect(await client.send(HOME, 'open', id)).toBe(200);
  for (const region of survivors) await cluster.replicate(HOME, region, 'account', id);
  // The write's copies cannot reach the new home (nor, with five regions, its nearest other peer).
  cluster.links.cut(HOME, NEW_HOME);
  if (names.length === 5) cluster.links.cut(HOME, 'eu-central-1');
  const acked = await client.send(HOME, 'deposit', id, 10);
  cluster.links.isolate(HOME);
  // With five regions the failover cannot reach one of the write's two holders.
  if (names.length === 5) cluster.links.cut(NEW_HOME, 'ap-southeast-1');
  const run = createRunbookDispatcher(cluster.runbookDeps(NEW_HOME));
  const state = await runTasks(run, 'failover', RUNBOOK_TASKS.failover, { region: HOME, trigger: 'test' });
  await untilWritable(state, cluster);
  cluster.links.heal();
  cluster.links.isolate(HOME);
  const after = await client.send(NEW_HOME, 'deposit', id, 5);
  const log = await cluster.regions[NEW_HOME]!.events.loadStream('account', id);
  const row = await cluster.regions[NEW_HOME]!.states.getState('account', id);
  const anomalies = await quiesceAndCheck(cluster, client, { survivors, ids: [id] });
  return { acked, after, log, row, anomalies };
}

describe.each([
  { n: 3, names: REGIONS_3 },
  { n: 5, names: REGIONS_5 },
])(
  'quorum ack with $n regions: the new home collects an acknowledged write from a majority',
  {
    // Five regions are 30 fresh tables and ~150 DynamoDB Local calls: minutes on a loaded 2-core machine.
    timeout: 120_000,
  },
  ({ names }) => {
    it('keeps a write acknowledged by a majority that excludes the new home, and takes writes on top of it', async () => {
      const { acked, after, log, row, anomalies } = await scenario(names);
      expect(acked).toBe(200);
      expect(after).toBe(200);
      expect(log.map((e) => e.payload)).toEqual([
        { owner: expect.any(String), currency: 'EUR' },
        { amount: 10 },
        { amount: 5 },
      ]);
      expect(JSON.parse(row!.state)).toMatchObject({ balance: 15 });
      expect(anomalies).toEqual([]);
    });

    it('with the bug switch single-peer-quorum, the chaos checkers report the lost acknowledged write', async () => {
      const { acked, log, anomalies } = await withBug('single-peer-quorum', () => scenario(names));
      expect(acked).toBe(200);
      expect(log.map((e) => e.payload)).not.toContainEqual({ amount: 10 });
      expect(anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`)).toContain(
        `core/lost-write@${NEW_HOME}`,
      );
    });
  },
);
