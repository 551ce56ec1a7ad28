import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { AccountClient } from './clients.ts';
import { failover, HOLDER, HOME, NEW_HOME } from './late-delivery.ts';
import { payloads, startQuorumCluster } from './quorum-cluster.ts';

/**
 * Under `core.ack: local`, a refusal by a new home and the lost home's late writes (found by
 * `npm run chaos -- --env dev --seconds 300 --seed 2`):
 * 1. HOME acknowledges a deposit of 10 (stored in HOME only: `local` copies nothing before the answer).
 * 2. HOME is isolated; Failover moves its partitions to NEW_HOME, which never got the deposit.
 * 3. NEW_HOME refuses a withdrawal of 5 (balance 0 on what it holds): fine, the deposit may be lost.
 * 4. The bus delivers the deposit to NEW_HOME late. Were it appended on top of the head the refusal was
 *    decided on, the final log would hold an acknowledged deposit that completed before the refusal
 *    began, with nothing in between: the refusal is then not linearizable.
 * The refusal seals the head first with NEW_HOME's epoch no-op: the late deposit finds its seq taken and
 * is the losing side of a fork (Failback queues it for an operator, as any write a lost home acknowledged
 * under `local`). Switch `local-refusal-unsealed` brings the old answer back.
 */
async function scenario() {
  const cluster = await startQuorumCluster([HOME, NEW_HOME, HOLDER], { ack: 'local' });
  const client = new AccountClient(cluster);
  const id = `seal-${Date.now().toString(36)}`;
  expect(await client.send(HOME, 'open', id)).toBe(200);
  for (const region of [NEW_HOME, HOLDER]) await cluster.replicate(HOME, region, 'account', id);
  expect(await client.send(HOME, 'deposit', id, 10)).toBe(200);
  cluster.links.isolate(HOME);
  await failover(cluster, NEW_HOME, HOME);
  const refusal = await cluster.regions[NEW_HOME]!.post('account', id, {
    type: 'Withdraw',
    payload: { amount: 5 },
  });
  expect(refusal.status).toBe(422);
  expect(JSON.stringify(refusal.body)).toContain('InsufficientFunds');
  // 4. The deposit reaches the new home late (the applier may refuse it: a fork is not an error here). The
  // Failover's cut would refuse it (fix-finding-2; best effort under ack local): off here, as at a region
  // the cut never reached, so the test keeps proving the refusal's own seal.
  await withBug('applier-ignores-failover-cut', () => cluster.replicate(HOME, NEW_HOME, 'account', id)).catch(
    () => undefined,
  );
  const log = await cluster.regions[NEW_HOME]!.events.loadStream('account', id);
  const row = await cluster.regions[NEW_HOME]!.states.getState('account', id);
  return { log, balance: (JSON.parse(row!.state) as { balance: number }).balance };
}

/** HOME opens the account and is lost; NEW_HOME takes over with nothing but the opening. */
async function takenOver() {
  const cluster = await startQuorumCluster([HOME, NEW_HOME, HOLDER], { ack: 'local' });
  const client = new AccountClient(cluster);
  const id = `seal-retry-${Date.now().toString(36)}`;
  expect(await client.send(HOME, 'open', id)).toBe(200);
  for (const region of [NEW_HOME, HOLDER]) await cluster.replicate(HOME, region, 'account', id);
  cluster.links.isolate(HOME);
  await failover(cluster, NEW_HOME, HOME);
  const post = (command: unknown) => cluster.regions[NEW_HOME]!.post('account', id, command);
  return { post };
}

describe('ack local: a new home seals the head it refuses on (late writes of the lost home fork)', () => {
  it("appends its epoch no-op before the refusal, so the lost home's late deposit cannot follow it", async () => {
    const { log, balance } = await scenario();
    expect(log.map((e) => e.type)).toEqual(['AccountOpened', 'EpochNoOp']);
    expect(balance).toBe(0);
  }, 60_000);

  it('with local-refusal-unsealed: the late deposit joins the chain after the refusal decided without it', async () => {
    const { log, balance } = await withBug('local-refusal-unsealed', scenario);
    expect(log.map((e) => e.type)).toEqual(['AccountOpened', 'Deposited']);
    expect(payloads(log)[1]).toEqual({ amount: 10 });
    expect(balance).toBe(10);
  }, 60_000);

  it('answers a retry whose key sealed a head and then landed with the landed write alone', async () => {
    const { post } = await takenOver();
    const withdraw = { type: 'Withdraw', payload: { amount: 5 }, idempotencyKey: 'w-1' };
    expect((await post(withdraw)).status).toBe(422); // sealed with its key, refused
    expect((await post({ type: 'Deposit', payload: { amount: 10 } })).status).toBe(200);
    expect((await post(withdraw)).status).toBe(200); // decided again: it lands
    const again = await post(withdraw); // the key's write is in the row's causes: answered from the log
    expect(again.status).toBe(200);
    const events = (again.body as { events: Array<{ type: string }> }).events;
    expect(events.map((e) => e.type)).toEqual(['Withdrawn']);
  }, 60_000);
});
