import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { AccountClient } from './clients.ts';
import { payloads, REGIONS_3, runFailover, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const U = 'us-east-1';
const E = 'eu-west-1';
const P = 'ap-southeast-1';

const moveTarget = (state: Record<string, unknown>) =>
  (state.chooseNewHomes as { moves: Array<{ to: string }> }).moves[0]?.to;

/**
 * Review of 396700a (retry of a 503'd core write answers with the landed write). Raft's "Figure 8": a home
 * must not acknowledge an entry of an EARLIER epoch by counting its copies, because a later failover's
 * collection prefers, at one seq, the event of the higher epoch (`collectedChain`), and an earlier-epoch
 * event on a majority can still lose to a later epoch's unacknowledged one.
 *
 * 1. U (home, epoch e) writes deposit 100 with key K; its copies fail: 503, W is in U's log only (seq 3).
 * 2. U lost; Failover to E (e+2). E writes deposit 5 (another client); its copies fail: 503, X at seq 3
 *    in E's log only.
 * 3. U is back (Failback pending), E is lost; Failover picks U (e+4); nothing reachable holds X, so U's
 *    chain keeps W.
 * 4. The client retries K at U: `answerLanded` finds W; it used to copy it to P (U + P: a majority) and answer 200.
 *    (Variant: another client's deposit 7 is written on top of W instead, acknowledged the same way.)
 * 5. E is back, U is lost; Failover picks E. The collection sees X (epoch e+2) at E and W (epoch e) at P
 *    at seq 3: X's branch reaches the higher epoch, so W is not collected.
 * An acknowledged write must be in the new home's log. W alone cannot be made to survive by its copies: U
 * must answer 503 (outcome still unknown), and the client's retry at E then deposits 100 once. (With a
 * write of e+4 on top of W, that write's branch reaches e+4 and is collected.)
 */
async function scenario(step4: 'retry K' | 'write on top') {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const id = `rv-fig8-${step4 === 'retry K' ? 'r' : 'w'}-${Date.now().toString(36)}`;
  const deposit = { type: 'Deposit', payload: { amount: 100 }, idempotencyKey: `op-${id}` };
  expect(await client.send(U, 'open', id)).toBe(200);
  expect(await client.send(U, 'deposit', id, 1)).toBe(200);
  for (const r of [E, P]) await cluster.replicate(U, r, 'account', id);

  // 1. W: U's deposit 100 (key K) lands in U's log only.
  cluster.links.cutCopies(U, E);
  cluster.links.cutCopies(U, P);
  expect((await cluster.regions[U]!.post('account', id, deposit)).status).toBe(503);
  cluster.links.heal();

  // 2. U lost, Failover to E; X: E's deposit 5 lands in E's log only.
  cluster.links.isolate(U);
  const first = await runFailover(cluster, E, U);
  expect(moveTarget(first)).toBe(E);
  await untilWritable(first);
  cluster.links.cutCopies(E, P);
  expect(await client.send(E, 'deposit', id, 5)).toBe(503);

  // 3. U back, E lost, Failover picks U: U's chain keeps W.
  cluster.links.heal();
  cluster.links.isolate(E);
  const second = await runFailover(cluster, U, E);
  expect(moveTarget(second)).toBe(U);
  await untilWritable(second);

  // 4. Acknowledged at U, with P: the retry of K (or a write on top of W).
  const answer =
    step4 === 'retry K'
      ? await cluster.regions[U]!.post('account', id, deposit)
      : await cluster.regions[U]!.post('account', id, { type: 'Deposit', payload: { amount: 7 } });
  const ackedIds = (answer.body as { events?: Array<{ eventId: string }> }).events?.map((e) => e.eventId);
  // With a write of this epoch on top of W, the retry of K is acknowledged through it.
  const retryOnTop =
    step4 === 'write on top' ? await cluster.regions[U]!.post('account', id, deposit) : undefined;
  const uLog = await cluster.regions[U]!.events.loadStream('account', id);
  const pLog = await cluster.regions[P]!.events.loadStream('account', id);

  // 5. E back, U lost, Failover picks E.
  cluster.links.heal();
  cluster.links.isolate(U);
  const third = await runFailover(cluster, E, U);
  expect(moveTarget(third)).toBe(E);
  await untilWritable(third);
  const eLog = await cluster.regions[E]!.events.loadStream('account', id);
  const retryAtE = step4 === 'retry K' ? await cluster.regions[E]!.post('account', id, deposit) : undefined;
  const eLogAfter = await cluster.regions[E]!.events.loadStream('account', id);
  return { answer, ackedIds, retryOnTop, uLog, pLog, eLog, retryAtE, eLogAfter };
}

describe('review 396700a: an earlier epoch write acknowledged by a later home survives the next failover', {
  timeout: 240_000,
}, () => {
  it('answers the retry of K at U 503 (W is of an earlier epoch); the retry at the next home deposits once', async () => {
    const { answer, uLog, retryAtE, eLogAfter } = await scenario('retry K');
    expect(uLog[2]!.payload).toEqual({ amount: 100 });
    expect([answer.status, (answer.body as { error?: string }).error]).toEqual([503, 'QuorumAckError']);
    expect([retryAtE!.status, (retryAtE!.body as { state?: unknown }).state]).toEqual([
      200,
      expect.objectContaining({ balance: 106 }),
    ]);
    expect(payloads(eLogAfter).filter((p) => (p as { amount?: number }).amount === 100)).toHaveLength(1);
  });

  it('with the bug switch old-epoch-landed-ack, U answers the retry 200 and the next Failover loses W', async () => {
    const { answer, ackedIds, uLog, pLog, eLog } = await withBug('old-epoch-landed-ack', () =>
      scenario('retry K'),
    );
    const w = uLog[2]!;
    expect([answer.status, ackedIds]).toEqual([200, [w.eventId]]);
    // A majority (U and P) held W when U answered, yet the next home does not.
    expect(pLog.map((e) => e.eventId)).toContain(w.eventId);
    expect(eLog.map((e) => e.eventId)).not.toContain(w.eventId);
  });

  it('keeps a write U acknowledged on top of W, and W with it, in the next home', async () => {
    const { answer, ackedIds, retryOnTop, uLog, pLog, eLog } = await scenario('write on top');
    expect(answer.status).toBe(200);
    const w = uLog[2]!;
    expect([retryOnTop!.status, (retryOnTop!.body as { events?: unknown }).events]).toEqual([
      200,
      [expect.objectContaining({ eventId: w.eventId })],
    ]);
    expect(eLog.map((e) => e.eventId)).toContain(w.eventId);
    expect(pLog.map((e) => e.eventId)).toEqual(expect.arrayContaining(ackedIds ?? ['none']));
    expect(eLog.map((e) => e.eventId)).toEqual(expect.arrayContaining(ackedIds ?? ['none']));
  });
});
