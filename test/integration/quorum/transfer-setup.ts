import { expect } from 'vitest';
import { exampleSagas, transfer } from '../../../examples/bank/index.ts';
import {
  beginSaga,
  type CoordinatorDeps,
  RoutedCommandPort,
  sagaCatalog,
  sagaIdFor,
} from '../../../lib/sagas/index.ts';
import type { QuorumCluster } from './quorum-cluster.ts';

/** The saga timers of these tests: nothing expires or is resumed while a scenario runs. */
export const TRANSFER_TIMERS = { holdMs: 60_000, resumeAfterMs: 30_000 };

/**
 * Opens a source (funded with 100) and a target account at `home` and begins a transfer of 30 between
 * them there; answers the coordinator of `home` (its tasks run as the saga function's would) and the task.
 */
export async function transferBegunAt(cluster: QuorumCluster, home: string) {
  const region = cluster.regions[home]!;
  const port = new RoutedCommandPort({
    commands: region.commands,
    router: region.multi.api.routing.router,
    homes: region.multi.ownership,
  });
  const coordinator: CoordinatorDeps = { sagas: sagaCatalog(exampleSagas), port };
  const stamp = Date.now().toString(36);
  const [from, to] = [`src-${stamp}`, `dst-${stamp}`];
  for (const id of [from, to]) {
    const open = { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } };
    expect((await region.post('account', id, open)).status).toBe(200);
  }
  expect((await region.post('account', from, { type: 'Deposit', payload: { amount: 100 } })).status).toBe(
    200,
  );
  const input = { from, to, amount: 30 };
  const sagaId = sagaIdFor(transfer, input, `key-${stamp}`, cluster.topology.partitions);
  await beginSaga(
    { commands: region.commands, port, starter: { start: async () => {} }, ...TRANSFER_TIMERS },
    { saga: transfer, sagaId, input },
  );
  return { coordinator, sagaId, from, to, task: { saga: 'transfer', sagaId } };
}
