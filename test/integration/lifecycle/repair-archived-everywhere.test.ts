import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
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
  withSnapshots,
  write,
} from './review-retention-fixtures.ts';

/**
 * Review 2, finding 1, second half: when every holder of an event a region lacks has only its stub (the home
 * archived it, and both peers were restored to before it), Repair reports it refused (`archived-everywhere`)
 * rather than dropping it silently; given the home's archive (`RegionCell.archive`), it delivers it whole.
 */
describe('Repair of an event held only as archived stubs', () => {
  it('is refused as archived-everywhere without an archive, and delivered whole from the archive with one', async () => {
    const [h, c, r] = await threeRegions();
    const id = uniqueId('rr-everywhere');
    await write(h!, [c!, r!], id, open);
    const copyC = await copyTables(c!.db.dynamodb, { region: c!.region, env: c!.db.env });
    const copyR = await copyTables(r!.db.dynamodb, { region: r!.region, env: r!.db.env });
    for (let i = 1; i <= 8; i++) await write(h!, [c!, r!], id, deposit(i));
    await snapshotNow(h!, id);
    const archive = await archiveDir('everywhere');
    expect((await archiveAt(h!, archive, [c!, r!], id)).archived).toBeGreaterThan(0);
    await restoreTables(c!.db.dynamodb, copyC);
    await restoreTables(r!.db.dynamodb, copyR);
    const homeLog = await h!.events.loadStream('account', id);
    const partition = homeLog[0]!.partition;

    const refused = await repairFrom([h!, c!, r!], r!.region, [partition]);
    expect(JSON.stringify(refused)).toContain('archived-everywhere');
    expect((await r!.events.loadStream('account', id)).some(isArchivedStub)).toBe(false);

    const withArchive = (cell: typeof h & object) =>
      cell.region === h!.region ? { ...withSnapshots(cell), archive } : withSnapshots(cell);
    await repairFrom([h!, c!, r!], r!.region, [partition], withArchive);
    const atR = await r!.events.loadStream('account', id);
    expect(idsOf(atR)).toEqual(idsOf(homeLog));
    expect(atR.some(isArchivedStub)).toBe(false);
    expect(foldedContent((await r!.states.getState('account', id))!)).toEqual(
      foldedContent(foldFullLog(account, id, atR)),
    );
  });
});
