/**
 * Read-your-writes for a core aggregate across a failover (issue 11). The interleaving:
 *   A (the home) acknowledges deposit X at seq 3 with token T; X never leaves A; A is lost and a Failover
 *   moves the partition to B, which writes Y at seq 3 (a later HLC than T). A read at B carrying T must
 *   not be served from B's state: B's head is past T's HLC, but B does not hold X. Nor may A, back and
 *   repaired onto B's branch (X went to the manual queue), claim it on a back-to-source read.
 * A core token therefore names the write itself (seq, epoch, event id), and a region serves the read
 * only when its log holds that event at that seq and its row has folded it.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { movePartition } from '../../../lib/runbooks/index.ts';
import { aggregateKey, eventSortKey } from '../../../lib/store/index.ts';
import { expectStatus } from '../../support/answers.ts';
import { clusterRunbookDeps } from '../runbooks/runbook-cells.ts';
import { type Cluster, command, deposit, openAccount, sleep, startCluster } from './cluster.ts';

let cluster: Cluster;

beforeAll(async () => {
  // The control replicas' call timeout is the cluster's default, 3 s as on AWS and in the sandbox: with 1 s, a
  // clean-clone CI run on a loaded machine answered the new home's first write 503.
  cluster = await startCluster({ waitMs: 200, leaseMs: 300, skewMarginMs: 50 });
});

beforeEach(() => {
  cluster.links.heal();
});

const read = (cell: Cluster['cells']['us-east-1'], type: string, id: string, token?: string) =>
  cell.call({
    method: 'GET',
    path: `/v1/${type}/${id}`,
    headers: token ? { 'x-consistency-token': token } : {},
  });

/** A's deposit X (token T) that B never received, then a failover to B and B's own write at X's seq. */
async function failedOverPastToken() {
  const { 'us-east-1': a, 'eu-west-1': b } = cluster.cells;
  const id = cluster.freshId('ryw-fo');
  expectStatus(await command(a, 'account', id, openAccount()), 200);
  expectStatus(await command(a, 'account', id, deposit(10)), 200);
  await cluster.replicate('us-east-1', 'eu-west-1', 'account', id);
  const x = expectStatus(await command(a, 'account', id, deposit(5)), 200);
  const token = x.headers['X-Consistency-Token']!;
  cluster.links.isolate('us-east-1');
  const partition = (await a.events.loadStream('account', id))[0]!.partition;
  const moved = await movePartition(clusterRunbookDeps(cluster, 'eu-west-1'), {
    partition,
    from: 'us-east-1',
    to: 'eu-west-1',
  });
  await sleep(Math.max(0, moved!.activeFrom - Date.now()) + 20);
  const y = expectStatus(await command(b, 'account', id, deposit(7)), 200);
  expect(y.headers['X-Multiactive-Region']).toBe('eu-west-1');
  const stateB = await b.states.getState('account', id);
  const hlc = token.split('~')[0]!;
  expect(stateB!.head! > hlc).toBe(true); // the old check (head >= token) would say "covered"
  return { id, token, y };
}

describe('read-your-writes for a core aggregate after a failover', () => {
  it('does not serve a token the new home never received, even with its head past the token', async () => {
    const { id, token } = await failedOverPastToken();

    const atB = await read(cluster.cells['eu-west-1'], 'account', id, token);

    // Not held at B; back-to-source to the lost origin fails.
    expect(atB.status).toBe(503);
    expect(atB.body).toMatchObject({
      error: 'ConsistencyUnavailableError',
      details: { origin: 'us-east-1' },
    });
  });

  it("does not let the origin, back on the new home's branch, claim a write it no longer holds", async () => {
    const { id, token, y } = await failedOverPastToken();
    const { 'us-east-1': a, 'eu-west-1': b } = cluster.cells;
    // Failback: A's orphan X went to the manual queue; A's log and row took the home's version.
    const orphan = (await a.events.loadStream('account', id)).at(-1)!;
    const { doc, tables } = a.tables;
    const pk = aggregateKey('account', id);
    await doc.send(
      new DeleteCommand({ TableName: tables.events, Key: { pk, sk: eventSortKey('core', orphan) } }),
    );
    await doc.send(new DeleteCommand({ TableName: tables.state, Key: { pk } }));
    await cluster.replicate('eu-west-1', 'us-east-1', 'account', id);
    cluster.links.heal();
    expect((await a.events.loadStream('account', id)).at(-1)?.eventId).toBe(
      (y.body.events as Array<{ eventId: string }>)[0]!.eventId,
    );

    const atC = await read(cluster.cells['ap-southeast-1'], 'account', id, token);
    expect(atC.status).toBe(503);
    expect(atC.body).toMatchObject({ error: 'ConsistencyUnavailableError' });
    // B's own write is served anywhere that holds it.
    const yToken = y.headers['X-Consistency-Token']!;
    expect((await read(b, 'account', id, yToken)).status).toBe(200);
    const atA = await read(a, 'account', id, yToken);
    expect([atA.status, atA.headers['X-Multiactive-Region']]).toEqual([200, 'us-east-1']);
    expect(atA.body.state).toMatchObject({ balance: 17 });
  });

  it('refuses a forged or mismatched token with 400', async () => {
    const { 'us-east-1': a } = cluster.cells;
    const id = cluster.freshId('ryw-forged');
    const opened = await command(a, 'account', id, openAccount());
    const token = opened.headers['X-Consistency-Token']!;
    const [hlc, seq, epoch] = token.split('~');
    const forged = [
      hlc!, // a core read needs the write's identity, not an HLC alone
      `${hlc}~${seq}~${epoch}~not-an-event-id`,
      `${hlc}~0~${epoch}~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${hlc}~${seq}~-1~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${token}~extra`,
    ];
    for (const bad of forged) {
      const answer = await read(a, 'account', id, bad);
      expect([answer.status, answer.body.error], bad).toEqual([400, 'InvalidConsistencyTokenError']);
    }
    // A core token on a non-core aggregate is not one this API issued for it either.
    const onProfile = await read(a, 'profile', id, token);
    expect([onProfile.status, onProfile.body.error]).toEqual([400, 'InvalidConsistencyTokenError']);
  });
});
