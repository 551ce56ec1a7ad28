import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { foldedContent, foldFullLog } from '../../../lib/lifecycle/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  idsOf,
  open,
  repairFrom,
  snapshotNow,
  threeRegions,
  write,
} from './review-retention-fixtures.ts';

/**
 * Guarantee attacked: "no region left unable to serve an aggregate forever" / README Data lifecycle,
 * "Archiver vs a late replica delivery": "If the event is somehow still missing at a peer (a point-in-time
 * restore of the peer after the archive), Repair finds it ... cannot replay it from the home (stubs are
 * left out of getEvents): another peer's whole copy is used".
 *
 * Interleaving: H (us-east-1, first in topology order) is the home; every event reaches C and R; H
 * snapshots and archives (gated correctly: every peer's watermark and log hold the events). R is then
 * restored to a point in time before most of them (the restore drill). C still holds every event whole.
 * Repair plans each lacking event from its FIRST holder (planReplay), which is H; H's getEvents leaves its
 * stubs out, and no other holder is asked. R never gets them: every pass plans the same source.
 */
async function scenario(): Promise<void> {
  const [h, c, r] = await threeRegions();
  const id = uniqueId('rr-src');
  await write(h!, [c!, r!], id, open);
  await write(h!, [c!, r!], id, deposit(1));
  const copy = await copyTables(r!.db.dynamodb, { region: r!.region, env: r!.db.env });
  for (let i = 2; i <= 12; i++) await write(h!, [c!, r!], id, deposit(i));
  await snapshotNow(h!, id);
  const archive = await archiveDir('repair-src');
  // Gated on both peers' watermarks and logs: every archived event is held by C and R at this point.
  expect((await archiveAt(h!, archive, [c!, r!], id)).archived).toBe(12);
  const homeLog = await h!.events.loadStream('account', id);
  expect(homeLog.filter(isArchivedStub)).toHaveLength(12);

  // The restore drill: R's tables back to the copy (seq 1-2).
  await restoreTables(r!.db.dynamodb, copy);
  expect((await r!.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2]);

  const partition = homeLog[0]!.partition;
  const first = await repairFrom([h!, c!, r!], r!.region, [partition]);
  // A second pass cannot help either when the source choice is the same.
  const second = await repairFrom([h!, c!, r!], r!.region, [partition]);

  const atR = await r!.events.loadStream('account', id);
  const atC = await c!.events.loadStream('account', id);
  expect({ first, second, seqs: atR.map((e) => e.seq) }).toMatchObject({
    seqs: atC.map((e) => e.seq),
  });
  expect(idsOf(atR)).toEqual(idsOf(atC));
  expect(atR.some(isArchivedStub)).toBe(false);
  expect(foldedContent((await r!.states.getState('account', id))!)).toEqual(
    foldedContent(foldFullLog(account, id, atC)),
  );
}

describe('review-retention: Repair after a restore, when the first holder of a lacking event holds only its stub', () => {
  it(
    "gives the restored region the events from the peer that holds them whole (C), so its log and row equal the home's",
    scenario,
  );

  it('under repair-single-source (each event from its first holder only) the restored region never gets them', async () => {
    await expect(withBug('repair-single-source', scenario)).rejects.toThrow();
  });
});
