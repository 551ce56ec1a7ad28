import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { ArchiverConfigError, archiveAggregate } from '../../../lib/lifecycle/index.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { uniqueId } from '../replication/cells.ts';
import {
  archiveDir,
  deposit,
  LATER,
  open,
  peerOf,
  snapshotNow,
  snapshotsOf,
  threeRegions,
  write,
} from './review-retention-fixtures.ts';

/**
 * The archiver's watermark gate cannot be turned off by its wiring: an empty peer list needs a topology of
 * this region alone, a topology's every other region needs its entry, and only the partition's home
 * archives (review 2, open list).
 */
describe('the archiver refuses a wiring that would turn its gate off', () => {
  it('refuses peers: [] without a topology, a topology region left out of peers, and a region that is not the home; archives with the full wiring', async () => {
    const [h, c, r] = await threeRegions();
    const id = uniqueId('gate');
    await write(h!, [c!, r!], id, open);
    for (let i = 1; i <= 4; i++) await write(h!, [c!, r!], id, deposit(i));
    await snapshotNow(h!, id);
    const archive = await archiveDir('gate');
    const base = {
      events: h!.events,
      snapshots: snapshotsOf(h!),
      archive,
      client: h!.db.doc,
      eventsTable: h!.db.tables.events,
    };
    const input = { aggregateId: id, retentionDays: 1, now: LATER() };
    const regions = [h!.region, c!.region, r!.region];

    await expect(archiveAggregate({ ...base, peers: [] }, account, input)).rejects.toThrow(
      ArchiverConfigError,
    );
    await expect(
      archiveAggregate(
        { ...base, peers: [peerOf(c!)], topology: { region: h!.region, regions } },
        account,
        input,
      ),
    ).rejects.toThrow(new RegExp(`peers lack ${r!.region}`));
    await expect(
      archiveAggregate(
        {
          ...base,
          peers: [peerOf(c!), peerOf(r!)],
          topology: { region: h!.region, regions, homeOf: async () => c!.region },
        },
        account,
        input,
      ),
    ).rejects.toThrow(/only the home archives/);
    expect((await h!.events.loadStream('account', id)).filter(isArchivedStub)).toHaveLength(0);

    const run = await archiveAggregate(
      {
        ...base,
        peers: [peerOf(c!), peerOf(r!)],
        topology: { region: h!.region, regions, homeOf: async () => h!.region },
      },
      account,
      input,
    );
    expect(run.archived).toBeGreaterThan(0);
  });
});
