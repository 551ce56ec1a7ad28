import { describe, expect, it } from 'vitest';
import { wholeFromArchive } from '../../../lib/commands/quorum-copy.ts';
import {
  type ArchiveStore,
  archiveObjects,
  dataKeyOfIndex,
  indexArchive,
  readArchivedEvents,
} from '../../../lib/lifecycle/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { accountLog } from '../../support/core-history.ts';

/**
 * Review 4 of the retention/archive work (on main). Fix attacked: review 3's MEDIUM finding ("one
 * aggregate's archive read listed its whole type", on the quorum copy's 1 s per-peer path). The fix lists the
 * aggregate's own index prefix, then GETs EVERY data object the index names, one after the other, whatever
 * the caller needs. The archive writes one data object per aggregate and UTC day of events (plus one per
 * re-run after a crash between object and stubs), so the cost still grows with the aggregate's archived
 * history: an account with activity on 300 days is 300 sequential GETs (S3: ~10-30 ms each, Glacier Instant
 * Retrieval after 30 days) for the quorum copy's `wholeFromArchive` of ONE stub a lagging peer lacks, well
 * past the 1 s budget: the peer is refused each time. The index key already names each object's seq range
 * (`<yyyy-mm-dd>/<firstSeq>-<lastSeq>`), so the objects that can hold the wanted seqs are known from the
 * listing alone.
 *
 * Interleaving: an account with one deposit a day for DAYS days is archived (objects + index entries as
 * `archiveAggregate` writes them); a lagging peer lacks seq 2 only; the quorum copy asks its home's archive for
 * that one stub's whole copy.
 */

const DAY = 86_400_000;
const DAYS = 40;

/** An account log of one event a day: DAYS + 1 events over DAYS + 1 UTC days. */
function dailyLog(): EventEnvelope[] {
  const start = Date.UTC(2026, 0, 1, 12);
  const log = accountLog([], { startWall: start });
  for (let day = 1; day <= DAYS; day++)
    log.push(
      ...accountLog([{ type: 'Deposited', amount: day }], {
        after: log.at(-1)!,
        startWall: start + day * DAY,
      }),
    );
  return log;
}

class Counting implements ArchiveStore {
  readonly objects = new Map<string, string>();
  gets: string[] = [];
  lists: string[] = [];
  async put(key: string, body: string) {
    this.objects.set(key, body);
  }
  async get(key: string) {
    this.gets.push(key);
    return this.objects.get(key);
  }
  async list(prefix: string) {
    this.lists.push(prefix);
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

async function archived(log: readonly EventEnvelope[]): Promise<Counting> {
  const store = new Counting();
  for (const object of archiveObjects(log)) {
    await store.put(object.key, object.body);
    await store.put(object.index, object.key);
  }
  return store;
}

describe('review-archiver-4: reading archived events of one aggregate', () => {
  it('control: readArchivedEvents lists only the aggregate’s index prefix and restores every event', async () => {
    const log = dailyLog();
    const store = await archived(log);
    expect(archiveObjects(log)).toHaveLength(DAYS + 1);
    const events = await readArchivedEvents(store, 'account', 'acc-1');
    expect(events.map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
    expect(store.lists).toEqual(['account/_by-aggregate/acc-1/']);
  });

  it('LOW: the quorum copy’s whole copy of ONE stub GETs every archived object of the aggregate (one per day), though the index names each object’s seqs', async () => {
    const log = dailyLog();
    const store = await archived(log);
    const stub = { ...log[1]!, payload: {} };
    const whole = await wholeFromArchive(store)!([stub]);
    expect(whole.map((e) => e.seq)).toEqual([2]);
    // The index names the one object that can hold seq 2; the others need no GET.
    const covering = (await store.list('account/_by-aggregate/acc-1/'))
      .filter((k) => {
        const [first, last] = k.split('/').at(-1)!.split('-').map(Number);
        return first! <= 2 && 2 <= last!;
      })
      .map((k) => dataKeyOfIndex(k));
    expect(covering).toHaveLength(1);
    expect({ gets: store.gets.length }).toEqual({ gets: covering.length });
  });
});

/**
 * Checked and found safe: the index key's parsing for ids the envelope allows (anything without `#`; the API
 * allows `[A-Za-z0-9][A-Za-z0-9._~:@+=-]*`), ids that look like dates or like the index segment, ids that are
 * prefixes of others, and `indexArchive` back-filling a pre-index archive of such ids.
 */
describe('review-archiver-4 (safe): index keys of awkward ids', () => {
  const ids = [
    '2026-01-01',
    '_by-aggregate',
    'a',
    'a.b',
    'a-2026-01-01',
    '000000000001-000000000003',
    'x:y@z+w=v~u',
  ];

  it('each id reads back exactly its own events from one archive holding all of them', async () => {
    const store = new Counting();
    const logs = new Map(ids.map((id) => [id, dailyLog().map((e) => ({ ...e, aggregateId: id }))]));
    for (const log of logs.values())
      for (const object of archiveObjects(log)) {
        await store.put(object.key, object.body);
        await store.put(object.index, object.key);
      }
    for (const [id, log] of logs) {
      const events = await readArchivedEvents(store, 'account', id);
      expect(events.map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
    }
  });

  it('indexArchive back-fills the entries of a pre-index archive of those ids, once', async () => {
    const store = new Counting();
    const logs = new Map(ids.map((id) => [id, dailyLog().map((e) => ({ ...e, aggregateId: id }))]));
    for (const log of logs.values())
      for (const object of archiveObjects(log)) await store.put(object.key, object.body);
    expect(await indexArchive(store, 'account')).toHaveLength(ids.length * (DAYS + 1));
    expect(await indexArchive(store, 'account')).toEqual([]);
    for (const [id, log] of logs)
      expect((await readArchivedEvents(store, 'account', id)).map((e) => e.eventId)).toEqual(
        log.map((e) => e.eventId),
      );
  });
});
