import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import { REGIONS_3, startQuorumCluster } from './quorum-cluster.ts';

const HOME = 'us-east-1';
const PEER = 'eu-west-1';

/**
 * Issue 11, scenario 4. The home's local append of a deposit fails (the client gets 5xx: outcome
 * unknown); the nearest peer folds whatever of it reached its log once the account's earlier event is
 * replicated to it; then the home writes another deposit at the same seq. The home's clock runs 11 s
 * behind, so a copy it left is already "older than 10 s" when it writes again (the scenario's "10 s
 * later", without sleeping). Every region must end with the same log and a row that is its fold.
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3, { clockSkewMs: { [HOME]: -11_000 } });
  const client = new AccountClient(cluster);
  const id = `s4-${Date.now().toString(36)}`;
  expect(await client.send(HOME, 'open', id)).toBe(200);
  cluster.regions[HOME]!.failNextAppend = true;
  const failed = await client.send(HOME, 'deposit', id, 7);
  // The open reaches the peer through replication: its applier folds everything its log holds after it.
  await cluster.replicate(HOME, PEER, 'account', id);
  const folded = await cluster.regions[PEER]!.states.getState('account', id);
  const acked = await client.send(HOME, 'deposit', id, 5);
  const anomalies = await quiesceAndCheck(cluster, client, { survivors: REGIONS_3, ids: [id] });
  const rows = await Promise.all(REGIONS_3.map((r) => cluster.regions[r]!.states.getState('account', id)));
  return { failed, folded, acked, anomalies, balances: rows.map((r) => JSON.parse(r!.state).balance) };
}

describe('quorum ack: a write whose local append failed leaves nothing a peer can fold (scenario 4)', {
  timeout: 120_000,
}, () => {
  it('never copies a write the home has not appended, so every region ends on the same log and row', async () => {
    const { failed, acked, anomalies, balances } = await scenario();
    expect(failed).toBeGreaterThanOrEqual(500);
    expect(acked).toBe(200);
    expect(balances).toEqual([5, 5, 5]);
    expect(anomalies).toEqual([]);
  });

  it('with the bug switch quorum-cleanup-delete, the chaos checkers report the peer row that diverged', async () => {
    const { folded, acked, anomalies } = await withBug('quorum-cleanup-delete', scenario);
    // The old order copied before appending: the peer folded the copy of the failed deposit...
    expect(JSON.parse(folded!.state)).toMatchObject({ balance: 7 });
    // ...and the cleanup deleted that copy and wrote the next deposit over it.
    expect(acked).toBe(200);
    expect(anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`)).toContain(
      `core/state-mismatch@${PEER}`,
    );
  });
});
