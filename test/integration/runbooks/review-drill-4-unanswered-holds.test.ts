import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { foundNothing, type RepairPass } from '../../../lib/sandbox/drill/restore.ts';
import { A, B, branchWorld, regionCell, runRepair } from './branch-cells.ts';

/**
 * Review 4 of i17-drill, claims 2+3: the restore drill reopens the restored region to writes once a
 * verifying Repair pass "found nothing lacking", and for holds it reads holdsReleased and holdsKept only
 * (lib/sandbox/drill/restore.ts foundNothing). Since 0494100 a region of the run whose holds cannot be read
 * in time is left out of both counts and only named in holdsUnanswered, which the drill never reads. A
 * verifying pass in which the restored region's (or any region's) holds were not read thus reports
 * holdsKept 0 and passes as clean, while the region still holds the restored holds: its heartbeat carries
 * the oldest for good, every peer's watermark from it stays below it, and the drill says verified.
 *
 * Setup: B holds a restored publish hold of an event C lacks (the hold is right to stay); B's replication
 * table does not answer within the bound (a throttled/slow table: everything else of B answers). The
 * Report's counts the drill reads must not say "no hold left".
 *
 * Fixed in the drill: a verifying pass is clean only once holdsUnanswered is empty too (`foundNothing`);
 * the Report keeps holdsKept as the holds read and kept, and names the silent regions. Switch
 * `drill-ignores-unanswered-holds`: the drill reads holdsKept and holdsReleased only.
 */
const never = <T>() => new Promise<T>(() => undefined);

/** B holds a restored hold C lacks the event of; B's replication table is silent in a pass over A and B. */
async function silentHoldsPass() {
  const world = await branchWorld(A);
  const { id, partition } = await world.account('rv4-unanswered', A);
  const [opened] = await world.write(B, id, {
    type: 'OpenAccount',
    payload: { owner: 'o', currency: 'EUR' },
  });
  await world.deliver(A, [opened!]); // C lacks it: B's hold of it must stay
  const b = world.cells[B]!;
  const holds = new DynamoPublishHolds({ client: b.db.doc, tableName: b.db.tables.replication });
  await holds.hold([{ id: opened!.eventId, hlc: opened!.hlc, partition }]);
  const silentB = regionCell(b);
  const deadClient = { send: () => never() } as unknown as DynamoDBDocumentClient;
  const deps: RunbookDeps = {
    ...world.deps,
    holdCallTimeoutMs: 200,
    cell: (name) =>
      name === B ? { ...silentB, tables: { ...silentB.tables, client: deadClient } } : world.deps.cell(name),
  };
  const run = createRunbookDispatcher(deps);
  // A pass over A and B only (C stays lacking), as a verifying pass the drill reads.
  const report = (await runRepair(
    { ...world, task: (runbook, task, input) => run({ runbook, task, input }) },
    { partitions: [partition], peers: [A, B] },
  )) as RepairPass['report'] & { holdsUnanswered?: readonly string[] };
  return { report, oldest: await holds.oldest(), hlc: opened!.hlc };
}

describe('review 4: a verifying Repair pass in which a region of the run did not answer for its holds', () => {
  it('is not taken as clean by the restore drill (B still holds its restored hold)', async () => {
    const { report, oldest, hlc } = await silentHoldsPass();
    expect({
      oldest,
      holdsUnanswered: report.holdsUnanswered,
      holdsKept: report.holdsKept,
      clean: foundNothing({ status: 'SUCCEEDED', report }),
    }).toEqual({ oldest: hlc, holdsUnanswered: [B], holdsKept: 0, clean: false });
  });

  it('with drill-ignores-unanswered-holds, the drill takes the pass as clean while B still holds it', async () => {
    const { report, oldest, hlc } = await silentHoldsPass();
    const clean = await withBug('drill-ignores-unanswered-holds', async () =>
      foundNothing({ status: 'SUCCEEDED', report }),
    );
    expect({ oldest, clean }).toEqual({ oldest: hlc, clean: true });
  });
});
