import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { DynamoControlReplica, partitionKey } from '../../../lib/ownership/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import {
  A,
  account,
  acknowledged,
  B,
  C,
  failoverOfA,
  forks,
  gatedSwitchover,
  log,
} from './late-delivery-world.ts';

/**
 * Review: a CheckWatermark invocation that outlives its task. Step Functions moves on when the task times
 * out (Rollback, or the execution fails) while the Lambda keeps running; its direct delivery of the old
 * home's confirmed head (read before) then writes into the target after the partition moved on.
 * Interleavings (A = old home, B = the switchover's target, C = the third region; an account with seq 1-2
 * everywhere and seq 3 only in A):
 * 1. Switchover A -> B: Fence, CheckWatermark reads A's head and starts delivering seq 3 into B; the
 *    delivery stalls before its first append (a slow Lambda; here a gate on B's event store).
 * 2. Meanwhile the partition moves on:
 *    a. Failover (A lost) makes B the home at a higher epoch and B acknowledges a core write at seq 3;
 *    b. Failover makes C the home (residency) and C acknowledges a core write at seq 3 (not yet in B);
 *    c. the switchover's own Rollback unfences A, and A acknowledges a core write at seq 4.
 * 3. The stalled delivery goes on. Checked: no two events at one seq between the home and the others, the
 *    home's acknowledged write kept, no event of an older epoch put into a region whose copy of the
 *    partition's entry is past it.
 * Found (MEDIUM): in 2b the delivery put A's seq 3 into B, which the Failover had sealed and collected, while
 * C held its own acknowledged seq 3: B forked from its home (switch `switchover-delivery-unsealed`). Now
 * each delivered append checks B's own copy of the entry is not past the fence's epoch (`sealed`).
 * What holds without that check: 2a once B wrote seq 3 (the row is ahead and the slot holds another
 * event: `slot-taken`); 2c (the head is a prefix of A's log, whatever A appends after the Rollback).
 */

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 400, skewMarginMs: 100 });
  return shared;
};

/** Failover of A run from `from`'s deps (A unreachable), the partition's new home restricted to `to`. */
async function failover(c: Cluster, partition: number, to: RegionName) {
  const { state, task } = failoverOfA(c, partition, { to, from: to });
  for (const name of RUNBOOK_TASKS.failover) await task(name);
  const { moved, writableFrom } = state.bumpEpochs as {
    moved: Array<{ partition: number; home: string; epoch: number }>;
    writableFrom: number;
  };
  expect(moved).toEqual([expect.objectContaining({ partition, home: to })]);
  await sleep(Math.max(0, writableFrom - Date.now()) + 50);
  return moved[0]!.epoch;
}

/**
 * Starts CheckWatermark, stalls its delivery at the target, runs `meanwhile`, then lets the delivery go on;
 * answers the task's result (or its error: nobody reads it, its state was left behind).
 */
async function lateCheck(
  sw: ReturnType<typeof gatedSwitchover>,
  meanwhile: () => Promise<void>,
): Promise<Record<string, unknown> | Error> {
  const check = sw.task('CheckWatermark').catch((error: Error) => error);
  await sw.target.reached;
  try {
    await meanwhile();
  } finally {
    sw.target.release();
  }
  return check;
}

describe('review: a CheckWatermark that outlives its task', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  /** Interleaving 2a: the late delivery after a Failover to B, and (`writeFirst`) B's acknowledged write at seq 3. */
  async function toTarget(c: Cluster, prefix: string, writeFirst: boolean) {
    const { id, partition, unreplicated } = await account(c, prefix);
    const sw = gatedSwitchover(c, id, 'late');
    await sw.task('Fence');
    let written: EventEnvelope | undefined;
    const check = await lateCheck(sw, async () => {
      c.links.isolate(A);
      try {
        await failover(c, partition, B);
      } finally {
        c.links.heal();
      }
      if (writeFirst) written = await acknowledged(c, B, id, 5);
    });
    written ??= await acknowledged(c, B, id, 5);
    const atB = await log(c, B, id);
    expect(atB.some((e) => e.eventId === written!.eventId)).toBe(true);
    expect(forks(atB, await log(c, C, id))).toEqual([]);
    return { check, atB, unreplicated };
  }

  const refusal = (check: Record<string, unknown> | Error) => {
    expect(check).not.toBeInstanceOf(Error);
    const [answer] = (check as { partitions: Array<{ delivered?: number; refused?: unknown[] }> }).partitions;
    return answer!;
  };

  it.each([
    ['', false],
    [' (switchover-delivery-unsealed: the slot guard alone holds)', true],
  ])(
    'Failover to the target, which acknowledges a write at the seq being delivered: the late delivery is refused, slot taken%s',
    async (_, bug) => {
      const c = await cluster();
      const run = () => toTarget(c, `late-fo-b${bug ? '-bug' : ''}`, true);
      const { check, atB, unreplicated } = bug
        ? await withBug('switchover-delivery-unsealed', run)
        : await run();
      expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
      expect(refusal(check)).toMatchObject({
        delivered: 0,
        refused: [expect.objectContaining({ eventId: unreplicated.eventId, reason: 'slot-taken' })],
      });
    },
  );

  it('Failover to the target, the late delivery before its first write: refused (sealed), the collected log stays as the Failover decided it', async () => {
    const { check, atB, unreplicated } = await toTarget(await cluster(), 'late-fo-b-first', false);
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
    expect(refusal(check)).toMatchObject({
      delivered: 0,
      refused: [expect.objectContaining({ eventId: unreplicated.eventId, reason: 'sealed' })],
    });
  });

  /** Interleaving 2b: the late delivery after a Failover to C and C's acknowledged write at seq 3. */
  async function toThirdRegion(c: Cluster, prefix: string) {
    const { id, partition, unreplicated } = await account(c, prefix);
    const sw = gatedSwitchover(c, id, 'late');
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    let written: EventEnvelope | undefined;
    let epoch = 0;
    const check = await lateCheck(sw, async () => {
      c.links.isolate(A);
      try {
        epoch = await failover(c, partition, C);
      } finally {
        c.links.heal();
      }
      written = await acknowledged(c, C, id, 5);
    });
    // The Failover's collection sealed B: its own copy of the entry is past the switchover's fence.
    const { doc, tables } = c.cells[B].tables;
    const own = new DynamoControlReplica({ region: B, client: doc, tableName: tables.control });
    expect((await own.read(partitionKey(partition)))!.epoch).toBeGreaterThan(move!.fencedEpoch);
    expect(epoch).toBeGreaterThan(move!.fencedEpoch);
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atC.some((e) => e.eventId === written!.eventId)).toBe(true);
    return { check, atB, atC, unreplicated };
  }

  it('Failover to the third region, which acknowledges a write at the seq being delivered: the late delivery puts nothing of the old epoch into the sealed target (refused: sealed)', async () => {
    const { check, atB, atC, unreplicated } = await toThirdRegion(await cluster(), 'late-fo-c');
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
    expect(forks(atC, atB)).toEqual([]);
    expect(refusal(check)).toMatchObject({
      delivered: 0,
      refused: [expect.objectContaining({ eventId: unreplicated.eventId, reason: 'sealed' })],
    });
  });

  it('with switchover-delivery-unsealed: the late delivery puts the old home’s seq 3 into the sealed target, forked from the new home’s acknowledged seq 3', async () => {
    const c = await cluster();
    const { atB, atC, unreplicated } = await withBug('switchover-delivery-unsealed', () =>
      toThirdRegion(c, 'late-fo-c-bug'),
    );
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
    expect(forks(atC, atB)).toEqual([3]);
  });

  it('the switchover’s own Rollback, then the old home acknowledges a write: the late delivery only brings the old home’s own prefix', async () => {
    const c = await cluster();
    const { id } = await account(c, 'late-rb');
    const sw = gatedSwitchover(c, id, 'late');
    await sw.task('Fence');
    let written: EventEnvelope | undefined;
    await lateCheck(sw, async () => {
      const rollback = await sw.task('Rollback');
      const [restored] = rollback.restored as Array<{ home: string; activeFrom: number }>;
      expect(restored).toMatchObject({ home: A });
      await sleep(Math.max(0, restored!.activeFrom - Date.now()) + 50);
      written = await acknowledged(c, A, id, 5);
    });
    const [atA, atB] = [await log(c, A, id), await log(c, B, id)];
    expect(atA.some((e) => e.eventId === written!.eventId)).toBe(true);
    expect(forks(atA, atB)).toEqual([]);
    expect(atB.length).toBeLessThanOrEqual(atA.length);
    const row = await c.cells[B].states.getState('account', id);
    expect(row?.seq).toBe(atB.at(-1)!.seq);
  });
});
