import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { payloads, REGIONS_3, startQuorumCluster } from './quorum-cluster.ts';

const HOME = 'us-east-1';
const PEERS = REGIONS_3.filter((r) => r !== HOME);

/**
 * The README's 503 answers say "outcome unknown: retry with the same idempotencyKey". A core write answered
 * 503 after its local append (its quorum copy failed, or the append's answer timed out) is in the home's
 * log; Powertools idempotency forgets a key whose call failed, so the retry runs the command again. It must
 * find the landed write (the row's recent causes) and answer with it, copied to a majority first, instead
 * of depositing twice.
 */
async function scenario(lose: 'copies' | 'append-answer') {
  const cluster = await startQuorumCluster(REGIONS_3);
  const home = cluster.regions[HOME]!;
  const id = `retry-${lose}-${Date.now().toString(36)}`;
  const post = (command: unknown) => home.post('account', id, command);
  expect((await post({ type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } })).status).toBe(200);
  expect((await post({ type: 'Deposit', payload: { amount: 5 } })).status).toBe(200);
  const deposit = { type: 'Deposit', payload: { amount: 10 }, idempotencyKey: `op-${id}` };
  if (lose === 'copies') for (const peer of PEERS) cluster.links.cutCopies(HOME, peer);
  else home.loseNextAnswer = true;
  const first = await post(deposit);
  cluster.links.heal();
  const retry = await post(deposit);
  // What a majority holds the moment the retry is answered (before replication runs).
  const held = await Promise.all(
    PEERS.map(async (peer) => payloads(await cluster.regions[peer]!.events.loadStream('account', id))),
  );
  const log = await home.events.loadStream('account', id);
  return { first, retry, log, held };
}

describe('quorum ack: the retry of a write answered 503 after its append', { timeout: 120_000 }, () => {
  for (const lose of ['copies', 'append-answer'] as const) {
    it(`answers with the landed write instead of writing it again (${lose} lost)`, async () => {
      const { first, retry, log, held } = await scenario(lose);
      expect(first.status).toBe(503);
      expect([retry.status, retry.body.state]).toEqual([200, expect.objectContaining({ balance: 15 })]);
      expect(payloads(log)).toEqual([expect.anything(), { amount: 5 }, { amount: 10 }]);
      const landed = log[2]!;
      expect(retry.body.events).toEqual([expect.objectContaining({ eventId: landed.eventId, seq: 3 })]);
      // Acknowledged only once a majority (the home and one peer of two) holds it.
      expect(held.filter((peerLog) => peerLog.length === 3)).not.toHaveLength(0);
    });
  }

  it('with the bug switch retry-rewrites, the retry deposits a second time', async () => {
    const { first, retry, log } = await withBug('retry-rewrites', () => scenario('copies'));
    expect(first.status).toBe(503);
    expect(retry.status).toBe(200);
    expect(payloads(log)).toEqual([expect.anything(), { amount: 5 }, { amount: 10 }, { amount: 10 }]);
  });
});
