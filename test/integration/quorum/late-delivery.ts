import { expect } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { expectStatus } from '../../support/answers.ts';
import { AccountClient } from './clients.ts';
import {
  type QuorumCluster,
  REGIONS_3,
  runFailover,
  startQuorumCluster,
  untilWritable,
} from './quorum-cluster.ts';

/** The regions of the late-delivery scenario: the lost home, the one that takes over, the third survivor. */
export const HOME = 'us-east-1';
export const NEW_HOME = 'eu-west-1';
export const HOLDER = 'ap-southeast-1';

/** Runs the Failover of `lost` from `from` and waits until its moved partitions are writable. */
export async function failover(cluster: QuorumCluster, from: string, lost: string) {
  const state = await runFailover(cluster, from, lost);
  await untilWritable(state, cluster);
  return state;
}

/**
 * HOME takes deposits `amounts` that no peer gets a copy of (503, outcome unknown); HOME is lost and
 * NEW_HOME takes over (its collection reads HOLDER, which holds nothing yet); only then does the bus
 * deliver HOME's unacknowledged events to HOLDER's applier, so HOLDER holds HOME's old-epoch branch from
 * seq 2. HOME stays isolated. Since fix-finding-2 the applier refuses such a delivery (the Failover cut
 * HOME's history at HOLDER, lib/ownership/failover-cut.ts): the delivery runs with that check off (switch
 * `applier-ignores-failover-cut`), so these tests keep proving the defences behind it (the copy's retire of
 * an old-epoch branch, the collection's head reads), as for a region the cut never reached.
 */
export async function lateDelivery(amounts: readonly number[]) {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const id = `late-${Date.now().toString(36)}`;
  expectStatus(await client.answer(HOME, 'open', id), 200);
  for (const region of [NEW_HOME, HOLDER]) await cluster.replicate(HOME, region, 'account', id);
  cluster.links.cut(HOME, NEW_HOME);
  cluster.links.cutCopies(HOME, HOLDER);
  for (const amount of amounts) expectStatus(await client.answer(HOME, 'deposit', id, amount), 503);
  cluster.links.isolate(HOME);
  const first = await failover(cluster, NEW_HOME, HOME);
  expect((first.collectCopies as { eventsCollected: number }).eventsCollected).toBe(0);
  // The bus delivers HOME's events after the collection read HOLDER's markers.
  await withBug('applier-ignores-failover-cut', () => cluster.replicate(HOME, HOLDER, 'account', id));
  cluster.links.heal();
  cluster.links.isolate(HOME);
  return { cluster, client, id };
}
