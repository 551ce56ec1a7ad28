import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { createRunbookDispatcher, type RegionCell, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { releasePublishedHolds } from '../../../lib/runbooks/publish-holds.ts';
import { A, B, branchWorld, C, regionCell, runRepair } from './branch-cells.ts';

/**
 * F6 of the third review of i17-drill: Repair's hold release asks every region of the topology whether it
 * holds a held event, and the runbook's clients carry no request timeout. A blackholed region (packets
 * dropped, no answer, no error) hung the whole Repair at ListPartitions. Guarantee: each call is bounded;
 * a region that does not answer counts as lacking the event (the hold stays and is reported kept), and a
 * region of the run whose own holds cannot be read is reported `unanswered`; the run goes on. Switch:
 * `repair-holds-unbounded`.
 */

const never = <T>() => new Promise<T>(() => undefined);

/** C's cell with its event source blackholed: every read waits for ever. */
function blackholed(cell: RegionCell): RegionCell {
  return { ...cell, source: { ...cell.source, getEvents: () => never() } } as RegionCell;
}

/** A's event held at A, held by B too, and C (outside the run) blackholed; Repair runs over A and B. */
async function repairWithSilentRegion() {
  const world = await branchWorld(A);
  const { id, partition } = await world.account('silent', A);
  const [opened] = await world.write(A, id, {
    type: 'OpenAccount',
    payload: { owner: 'o', currency: 'EUR' },
  });
  await world.deliver(B, [opened!]);
  const a = world.cells[A]!;
  const holds = new DynamoPublishHolds({ client: a.db.doc, tableName: a.db.tables.replication });
  await holds.hold([{ id: opened!.eventId, hlc: opened!.hlc, partition }]);
  const deps: RunbookDeps = {
    ...world.deps,
    holdCallTimeoutMs: 200,
    cell: (name) => (name === C ? blackholed(regionCell(world.cells[C]!)) : world.deps.cell(name)),
  };
  const run = createRunbookDispatcher(deps);
  const report = await runRepair(
    { ...world, task: (runbook, task, input) => run({ runbook, task, input }) },
    { partitions: [partition], peers: [A, B] },
  );
  return { report, oldest: await holds.oldest(), opened: opened! };
}

/** `promise`'s value, or 'hung' when it has not settled after `ms` (a bound on the test, not a timing claim). */
function orHung<T>(promise: Promise<T>, ms: number): Promise<T | 'hung'> {
  return Promise.race([promise, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);
}

describe('review 3: Repair with a blackholed region outside the run', () => {
  it('keeps the hold the silent region may lack, reports it kept, and finishes', async () => {
    const outcome = await orHung(repairWithSilentRegion(), 20_000);
    expect(outcome).not.toBe('hung');
    const { report, oldest, opened } = outcome as Awaited<ReturnType<typeof repairWithSilentRegion>>;
    expect({ oldest, kept: report.holdsKept, released: report.holdsReleased }).toEqual({
      oldest: opened.hlc,
      kept: 1,
      released: 0,
    });
  });

  it('with repair-holds-unbounded, never finishes', async () => {
    const outcome = await withBug('repair-holds-unbounded', () => orHung(repairWithSilentRegion(), 4_000));
    expect(outcome).toBe('hung');
  });
});

describe('review 3: a region of the run whose holds cannot be read', () => {
  it('is reported unanswered and the other regions are still released', async () => {
    const world = await branchWorld(A);
    const { id, partition } = await world.account('silent-into', A);
    const [opened] = await world.write(A, id, {
      type: 'OpenAccount',
      payload: { owner: 'o', currency: 'EUR' },
    });
    for (const r of [B, C]) await world.deliver(r, [opened!]);
    const a = world.cells[A]!;
    const holds = new DynamoPublishHolds({ client: a.db.doc, tableName: a.db.tables.replication });
    await holds.hold([{ id: opened!.eventId, hlc: opened!.hlc, partition }]);
    const silentB = regionCell(world.cells[B]!);
    const deadClient = { send: () => never() } as unknown as DynamoDBDocumentClient;
    const cells = [world.deps.cell(A), { ...silentB, tables: { ...silentB.tables, client: deadClient } }];
    const outcome = await orHung(
      releasePublishedHolds({
        cells,
        into: [A, B],
        partitions: [partition],
        everyRegion: [A, B, C],
        cellOf: (r) => world.deps.cell(r),
        callTimeoutMs: 200,
      }),
      20_000,
    );
    expect(outcome).toEqual({ released: 1, kept: 0, keptIds: [], unanswered: [B] });
    expect(await holds.oldest()).toBeUndefined();
  });
});
