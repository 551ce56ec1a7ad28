import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import { REGIONS_3, sleep, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const SOURCE = 'us-east-1';
const TARGET = 'eu-west-1';
const THIRD = 'ap-southeast-1';

describe('Switchover under quorum ack needs no collection (copies are only ever made of the source log)', {
  timeout: 120_000,
}, () => {
  it("takes writes at once on the target: no stray copy blocks it, and a 503'd write arrives with the log", async () => {
    const cluster = await startQuorumCluster(REGIONS_3);
    const client = new AccountClient(cluster);
    const id = `so-${Date.now().toString(36)}`;
    const partition = partitionOf(id, cluster.topology.partitions);
    expect(await client.send(SOURCE, 'open', id)).toBe(200);
    // A deposit whose local append fails while only the third region is reachable: under the old order
    // its copy sat there, on no branch the source knew, and blocked the new home's seq 2 for good.
    cluster.links.cut(SOURCE, TARGET);
    cluster.regions[SOURCE]!.failNextAppend = true;
    expect(await client.send(SOURCE, 'deposit', id, 7)).toBeGreaterThanOrEqual(500);
    cluster.links.heal();
    // A deposit no peer stores in time: 503, outcome unknown, in the source's log only.
    for (const peer of [TARGET, THIRD]) cluster.links.cutCopies(SOURCE, peer);
    expect(await client.send(SOURCE, 'deposit', id, 3)).toBe(503);
    cluster.links.heal();
    for (const peer of [TARGET, THIRD]) await cluster.replicate(SOURCE, peer, 'account', id); // the bus

    const run = createRunbookDispatcher(cluster.runbookDeps(TARGET));
    const state: Record<string, unknown> = { partitions: [partition], to: TARGET };
    const task = async (name: string) => {
      state[name[0]!.toLowerCase() + name.slice(1)] = await run({
        runbook: 'switchover',
        task: name,
        input: state,
      });
      return state[name[0]!.toLowerCase() + name.slice(1)] as Record<string, unknown>;
    };
    await task('Fence');
    for (let poll = 0; (await task('CheckWatermark')).caughtUp !== true; poll++) {
      expect(poll).toBeLessThan(50);
      await cluster.replicate(SOURCE, TARGET, 'account', id); // the bus, by hand
      await sleep(20);
    }
    for (const name of ['MoveHome', 'Unfence', 'VerifyProbe']) await task(name);
    await untilWritable(state, cluster, 'unfence');

    expect(await client.send(TARGET, 'deposit', id, 5)).toBe(200);
    expect(await quiesceAndCheck(cluster, client, { survivors: REGIONS_3, ids: [id] })).toEqual([]);
    for (const region of REGIONS_3) {
      const row = await cluster.regions[region]!.states.getState('account', id);
      expect(JSON.parse(row!.state)).toMatchObject({ balance: 8 });
    }
  });
});
