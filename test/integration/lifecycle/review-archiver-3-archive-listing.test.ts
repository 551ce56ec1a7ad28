import { describe, expect, it } from 'vitest';
import { wholeFromArchive } from '../../../lib/commands/quorum-copy.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { type ArchiveStore, aggregateIdOfKey, fullHistory } from '../../../lib/lifecycle/index.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  open,
  snapshotNow,
  threeRegions,
  write,
} from './review-retention-fixtures.ts';

/**
 * Review 3 of i17-archiver. Guarantee attacked: the archive is a read path of live requests (the quorum
 * copy's `wholeFromArchive` under a per-peer timeout of 1 s, the landed retry, the row rebuild, the saga
 * history), so reading ONE aggregate's archived events must cost in proportion to that aggregate.
 *
 * The key is `<type>/<yyyy>/<mm>/<dd>/<id>/<range>.jsonl`: the date comes before the id, so no prefix
 * names one aggregate. `readArchivedEvents` therefore lists `<type>/` — every archived object of every
 * aggregate of the type, every day (S3 ListObjectsV2: 1,000 keys a page) — and filters by id client-side.
 * With 10^6 archived accounts, a lagging peer's quorum catch-up over one archived account lists ~10^3+
 * pages and can never finish within its 1 s budget: the peer is refused, and every retry does the same.
 *
 * Interleaving: H archives accounts A and B (same type). Then one read of A's archive (fullHistory, and
 * the quorum copy's wholeFromArchive) is made through a store that records what it lists.
 */
class Recording implements ArchiveStore {
  listed: string[] = [];
  constructor(private readonly inner: ArchiveStore) {}
  put(key: string, body: string) {
    return this.inner.put(key, body);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  async list(prefix: string) {
    const keys = await this.inner.list(prefix);
    this.listed.push(...keys);
    return keys;
  }
}

async function scenario() {
  const [h, c, r] = await threeRegions();
  const archive = await archiveDir('ra3-list');
  const ids = [uniqueId('ra3-a'), uniqueId('ra3-b'), uniqueId('ra3-c')];
  for (const id of ids) {
    await write(h!, [c!, r!], id, open);
    for (let i = 1; i <= 4; i++) await write(h!, [c!, r!], id, deposit(i));
    await snapshotNow(h!, id);
    expect((await archiveAt(h!, archive, [c!, r!], id)).archived).toBe(4);
  }
  const [a] = ids;
  const recording = new Recording(archive);
  const history = await fullHistory({ events: h!.events, archive: recording }, 'account', a!);
  expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(history.some(isArchivedStub)).toBe(false);
  const stubs = (await h!.events.loadStream('account', a!)).filter(isArchivedStub);
  expect(await wholeFromArchive(recording)!(stubs)).toHaveLength(4);

  const others = recording.listed.filter((key) => aggregateIdOfKey(key) !== a);
  expect(others, `listed for ${a}: ${recording.listed.join(', ')}`).toEqual([]);
}

describe('review-archiver-3: reading one aggregate’s archive lists the whole type’s archive', () => {
  it('fullHistory and the quorum copy’s whole copies of account A list only A’s objects', scenario);

  it("under archive-lists-whole-type (reads list the type's prefix) the other accounts' objects are listed", async () => {
    await expect(withBug('archive-lists-whole-type', scenario)).rejects.toThrow(/listed for/);
  });
});
