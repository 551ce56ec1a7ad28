import { expect } from 'vitest';
import { AccountClient } from './clients.ts';
import {
  type QuorumCluster,
  REGIONS_3,
  runFailover,
  startQuorumCluster,
  untilWritable,
} from './quorum-cluster.ts';

export const [U, E, P] = REGIONS_3;

const moveTarget = (state: Record<string, unknown>) =>
  (state.chooseNewHomes as { moves: Array<{ to: string }> }).moves[0]?.to;

/** Runs a Failover of `lost` in `from`, checks it moved the partition there, and waits until it is writable. */
export async function failOverTo(cluster: QuorumCluster, from: string, lost: string): Promise<void> {
  const state = await runFailover(cluster, from, lost);
  expect(moveTarget(state)).toBe(from);
  await untilWritable(state, cluster);
}

/**
 * Raft's "Figure 8", steps 1 to 3, on account `id` of a fresh 3-region quorum cluster (U, E, P):
 * 1. U (home, epoch e) writes W (`writeW`), its copies fail: W is in U's log only.
 * 2. U lost, Failover to E (e+2); E's deposit 5 (X) lands in E's log only, at W's seq.
 * 3. U back, E lost, Failover picks U (e+4): nothing reachable holds X, U's chain keeps W.
 * The caller then acknowledges something at U and fails U over to E again (`failOverTo`).
 */
export async function earlierEpochHeadAtU(
  id: string,
  writeW: (cluster: QuorumCluster) => Promise<void>,
): Promise<{ cluster: QuorumCluster; client: AccountClient }> {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  expect(await client.send(U, 'open', id)).toBe(200);
  expect(await client.send(U, 'deposit', id, 1)).toBe(200);
  for (const r of [E, P]) await cluster.replicate(U, r, 'account', id);

  cluster.links.cutCopies(U, E);
  cluster.links.cutCopies(U, P);
  await writeW(cluster);
  cluster.links.heal();

  cluster.links.isolate(U);
  await failOverTo(cluster, E, U);
  cluster.links.cutCopies(E, P);
  expect(await client.send(E, 'deposit', id, 5)).toBe(503);

  cluster.links.heal();
  cluster.links.isolate(E);
  await failOverTo(cluster, U, E);
  return { cluster, client };
}
