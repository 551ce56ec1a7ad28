import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import {
  afterNextLocalAppend,
  payloads,
  type QuorumCluster,
  REGIONS_3,
  runFailover,
  startQuorumCluster,
  untilWritable,
} from './quorum-cluster.ts';

const HOME = 'us-east-1';
const NEW_HOME = 'eu-west-1';
const HOLDER = 'ap-southeast-1';

/**
 * Found by the prod chaos run (seed 1, account a2): a quorum copy that reaches a peer which already holds
 * the event, because the ordinary replication path (stream -> bus -> applier) delivered it first, found
 * the event stored and counted as acknowledged without writing the copy marker (nor checking the seal).
 * The failover's collection lists what to collect from those markers, so it missed the acknowledged write,
 * and the new home wrote its own event at that seq.
 *
 * Interleaving: HOME appends deposit 10 (seq 2); its copy to NEW_HOME cannot go (link cut); before its copy
 * to HOLDER goes out, HOLDER's applier stores the event (`delivered: 'append'`: its append has landed, the
 * marker it writes after it not yet; `sealFirst`: and a Failover in NEW_HOME has already sealed HOLDER);
 * the copy reaches HOLDER; the client is answered; HOME is lost; Failover in NEW_HOME; NEW_HOME takes
 * deposit 5.
 */
/** HOME's event at index `at` of the account's log, put into `region`'s log without a copy marker. */
async function appendUnmarked(cluster: QuorumCluster, region: string, id: string, at: number) {
  const event = (await cluster.regions[HOME]!.events.loadStream('account', id))[at]!;
  await cluster.regions[region]!.events.appendEvents([event], { tier: 'core' });
}

async function scenario(options: { sealFirst: boolean; delivered: 'applier' | 'append' }) {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const id = `dup-${Date.now().toString(36)}`;
  const survivors = REGIONS_3.filter((r) => r !== HOME);
  // `append`: HOLDER's log gets every event of the account by a path that writes no copy marker (the
  // opening's quorum copy goes to NEW_HOME only), so only the deposit's copy can list it there.
  if (options.delivered === 'append') cluster.links.cutCopies(HOME, HOLDER);
  expect(await client.send(HOME, 'open', id)).toBe(200);
  cluster.links.heal();
  for (const region of survivors)
    if (options.delivered === 'append' && region === HOLDER) await appendUnmarked(cluster, HOLDER, id, 0);
    else await cluster.replicate(HOME, region, 'account', id);
  cluster.links.cut(HOME, NEW_HOME);
  const failover = () => runFailover(cluster, NEW_HOME, HOME);
  let state: Record<string, unknown> | undefined;
  afterNextLocalAppend(cluster, HOME, async () => {
    // The bus delivers the home's new event to HOLDER's applier before the copy gets there.
    if (options.delivered === 'applier') await cluster.replicate(HOME, HOLDER, 'account', id);
    else await appendUnmarked(cluster, HOLDER, id, 1);
    if (options.sealFirst) {
      // HOME is cut off and failed over before its copy reaches HOLDER (it is sent after the seal).
      cluster.links.isolate(HOME);
      state = await failover();
    }
  });
  const acked = await client.send(HOME, 'deposit', id, 10);
  cluster.links.isolate(HOME);
  state ??= await failover();
  await untilWritable(state, cluster);
  cluster.links.heal();
  cluster.links.isolate(HOME);
  const after = await client.send(NEW_HOME, 'deposit', id, 5);
  const log = await cluster.regions[NEW_HOME]!.events.loadStream('account', id);
  const anomalies = await quiesceAndCheck(cluster, client, { survivors, ids: [id] });
  return { acked, after, log, anomalies };
}

describe('quorum ack: a copy that finds its event already replicated', { timeout: 120_000 }, () => {
  it('still marks it for the failover, which collects the acknowledged write', async () => {
    const { acked, after, log, anomalies } = await scenario({ sealFirst: false, delivered: 'append' });
    expect(acked).toBe(200);
    expect(after).toBe(200);
    expect(payloads(log)).toEqual([
      { owner: expect.any(String), currency: 'EUR' },
      { amount: 10 },
      { amount: 5 },
    ]);
    expect(anomalies).toEqual([]);
  });

  it('is refused by a peer a failover has sealed, so the write is never acknowledged', async () => {
    const { acked, log } = await scenario({ sealFirst: true, delivered: 'append' });
    expect(acked).toBe(503);
    expect(payloads(log)).not.toContainEqual({ amount: 10 });
  });

  it('with the bug switch stored-copy-unmarked, the chaos checkers report the lost acknowledged write', async () => {
    const { acked, log, anomalies } = await withBug('stored-copy-unmarked', () =>
      scenario({ sealFirst: false, delivered: 'append' }),
    );
    expect(acked).toBe(200);
    expect(payloads(log)).not.toContainEqual({ amount: 10 });
    expect(anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`)).toContain(
      `core/lost-write@${NEW_HOME}`,
    );
  });
});

describe('failover after the applier received a write the old home could not get acknowledged', {
  timeout: 120_000,
}, () => {
  // Before the applier marked what it received, the new home's collection missed the event, and every
  // later write of the aggregate was refused (503): HOLDER held the old home's event at that seq and would
  // not count the new home's copy (PeerDivergedError) until a Failback or Repair.
  it('the new home adopts it (outcome unknown to the client) and takes writes on top of it', async () => {
    const { acked, after, log, anomalies } = await scenario({ sealFirst: true, delivered: 'applier' });
    expect(acked).toBe(503);
    expect(after).toBe(200);
    expect(payloads(log)).toEqual([
      { owner: expect.any(String), currency: 'EUR' },
      { amount: 10 },
      { amount: 5 },
    ]);
    expect(anomalies).toEqual([]);
  });
});
