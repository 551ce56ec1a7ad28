import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  fencePartition,
  movePartitionHome,
  partitionOf,
  unfencePartition,
} from '../../../lib/ownership/index.ts';
import { type Cluster, command, deposit, openAccount, startCluster } from '../routing/cluster.ts';

// A refusal is an answer about the aggregate's state: "InsufficientFunds" from a region that is not yet
// the writable home, decided on its stale replica, contradicts the home's acknowledged deposit (found by
// `npm run chaos -- --env dev --seconds 300 --seed 2`: a new home refused a withdrawal before its
// activeFrom, on a row that lacked the old home's last deposits, which then reached it).
const [A, B] = ['us-east-1', 'eu-west-1'] as const;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ leaseMs: 2_000, skewMarginMs: 1_000 });
});

afterEach(() => disableAllBugs());

/** A is home and acknowledged 10 on the account; B holds only the opening; the partition moves to B. */
async function movedBeforeActive() {
  const id = cluster.freshId('refusal');
  const partition = partitionOf(id, 256);
  expect((await command(cluster.cells[A], 'account', id, openAccount())).status).toBe(200);
  await cluster.replicate(A, B, 'account', id);
  expect((await command(cluster.cells[A], 'account', id, deposit(10))).status).toBe(200);
  const map = cluster.cells[B].map;
  await fencePartition(map, partition);
  await movePartitionHome(map, partition, B);
  const active = await unfencePartition(map, partition);
  expect(active.activeFrom).toBeGreaterThan(Date.now()); // B may not write yet (lease + skew margin)
  return command(cluster.cells[B], 'account', id, { type: 'Withdraw', payload: { amount: 5 } });
}

describe('core refusals come only from the writable home (fence before decide)', () => {
  it('answers 503 (fenced) instead of a refusal decided on a replica that is not yet writable', async () => {
    const answer = await movedBeforeActive();
    expect(answer.status).toBe(503);
    expect(JSON.stringify(answer.body)).toContain('PartitionFenced');
  });

  it('with unfenced-refusal: refuses with InsufficientFunds, contradicting the acknowledged deposit', async () => {
    const answer = await withBug('unfenced-refusal', movedBeforeActive);
    expect(answer.status).toBe(422);
    expect(JSON.stringify(answer.body)).toContain('InsufficientFunds');
  });
});
