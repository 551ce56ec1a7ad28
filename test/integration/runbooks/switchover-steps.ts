import { expect } from 'vitest';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import type { Cluster, RegionName } from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

export const PARTITIONS = 256;

/** A runbook's tasks driven one by one as its machine would, each result under its camel-cased name. */
export function runbookSteps(
  c: Cluster,
  region: RegionName,
  options: { runbook?: 'switchover' | 'failback'; deps?: Partial<RunbookDeps> } = {},
) {
  const run = createRunbookDispatcher({
    ...clusterRunbookDeps(c, region, options.deps?.observe),
    watermarkPoll: { intervalMs: 20, budgetMs: 200 },
    ...options.deps,
  });
  const state: Record<string, unknown> = {};
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: options.runbook ?? 'switchover', task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
  return { state, task };
}

/**
 * CheckWatermark until caught up, replicating the account from the move's `from` (as recorded by Fence)
 * to `to` between polls; the old home's own copy must confirm the fence (so MoveHome moves at once).
 */
export async function checkUntilCaughtUp(
  c: Cluster,
  rb: ReturnType<typeof runbookSteps>,
  move: { id: string; to: RegionName; task?: string },
) {
  const task = move.task ?? 'CheckWatermark';
  const fenceKey = task === 'CheckWatermark' ? 'fence' : 'switchBackFence';
  const from = (rb.state[fenceKey] as { moves: Array<{ from: RegionName }> }).moves[0]!.from;
  let check = await rb.task(task);
  for (let poll = 0; check.caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(20);
    await c.replicate(from, move.to, 'account', move.id);
    check = await rb.task(task);
  }
  expect(check.partitions).toEqual([expect.objectContaining({ confirmedBy: 'own-copy' })]);
}

/** A whole cooperative Switchover up to MoveHome (moved and active at once) of the account's partition. */
export async function moveAtOnce(
  c: Cluster,
  rb: ReturnType<typeof runbookSteps>,
  move: { id: string; to: RegionName; run: string },
) {
  Object.assign(rb.state, {
    partitions: [partitionOf(move.id, PARTITIONS)],
    to: move.to,
    run: { id: move.run },
  });
  await rb.task('Fence');
  await checkUntilCaughtUp(c, rb, move);
  await rb.task('VerifyProbe');
  const moved = await rb.task('MoveHome');
  expect(moved.moved).toEqual([expect.objectContaining({ home: move.to, state: 'active' })]);
}
