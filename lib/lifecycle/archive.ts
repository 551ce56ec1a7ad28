import { decodeHlc } from '../clock/hlc.ts';
import { bugEnabled } from '../faults/switches.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import { type EventEnvelope, eventEnvelopeSchema } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { ArchiveStore } from './archive-store.ts';
import { ArchiveCorruptError } from './errors.ts';
import type { Snapshot } from './snapshot.ts';

/** Epoch ms of an event by its HLC (the writer's clock when it was appended). */
export function eventTime(event: Pick<EventEnvelope, 'hlc'>): number {
  return decodeHlc(event.hlc).wall;
}

/**
 * The events of a core log (hot table, seq order) that may leave it: a prefix, logged before the retention
 * horizon (`retentionHorizon`) and strictly below the snapshot's last event, which stays hot with everything
 * after it (a load checks the snapshot against it, and the log's head must stay where appends find it).
 */
export function archivableEvents(
  log: readonly EventEnvelope[],
  snapshot: Pick<Snapshot, 'seq'>,
  horizon: number,
): EventEnvelope[] {
  const prefix: EventEnvelope[] = [];
  for (const event of log) {
    // Already archived (a stub in its slot): its payload is in the archive.
    if (isArchivedStub(event)) continue;
    if (event.seq >= snapshot.seq || eventTime(event) >= horizon) break;
    prefix.push(event);
  }
  return prefix;
}

/** `YYYY-MM-DD` (UTC) of an event: the archive's date partition. */
export function archiveDate(event: Pick<EventEnvelope, 'hlc'>): string {
  return new Date(eventTime(event)).toISOString().slice(0, 10);
}

/**
 * Object key of a run of one aggregate's events of one day, partitioned by aggregate type and the events'
 * UTC date: `<type>/<yyyy>/<mm>/<dd>/<aggregateId>/<firstSeq>-<lastSeq>.jsonl` (a store may put its own
 * prefix in front: the application's name on S3, `S3ArchiveStore`). The key depends only on the events, so
 * a retried run writes the same object again.
 */
export function archiveKey(events: readonly EventEnvelope[]): string {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const seq = (n: number) => String(n).padStart(12, '0');
  const [yyyy, mm, dd] = archiveDate(first).split('-');
  return `${first.aggregateType}/${yyyy}/${mm}/${dd}/${first.aggregateId}/${seq(first.seq)}-${seq(last.seq)}.jsonl`;
}

/** The segment after the type that starts the per-aggregate index (`archiveIndexKey`); never a year. */
export const ARCHIVE_INDEX_SEGMENT = '_by-aggregate';

/**
 * Key of the index entry of a data object (`archiveKey`): `<type>/_by-aggregate/<aggregateId>/<yyyy-mm-dd>/
 * <firstSeq>-<lastSeq>`, so one aggregate's objects are found by listing its own prefix, not its type's. The
 * entry's key names the data object (`dataKeyOfIndex`); its body repeats that key for a person reading the
 * bucket. Written after the data object and before any stub of its events.
 */
export function archiveIndexKey(events: readonly EventEnvelope[]): string {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const seq = (n: number) => String(n).padStart(12, '0');
  return `${indexPrefix(first.aggregateType, first.aggregateId)}${archiveDate(first)}/${seq(first.seq)}-${seq(last.seq)}`;
}

/** The prefix under which one aggregate's index entries lie. */
function indexPrefix(aggregateType: string, aggregateId: string): string {
  return `${aggregateType}/${ARCHIVE_INDEX_SEGMENT}/${aggregateId}/`;
}

/** True for a key of the per-aggregate index (`archiveIndexKey`), false for a data object's. */
export function isArchiveIndexKey(key: string): boolean {
  return key.split('/')[1] === ARCHIVE_INDEX_SEGMENT;
}

/** The data object's key an index entry names, or undefined for a key that is not an index entry. */
export function dataKeyOfIndex(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length < 5 || parts[1] !== ARCHIVE_INDEX_SEGMENT) return undefined;
  const [type] = parts;
  const date = parts[parts.length - 2]!;
  const range = parts[parts.length - 1]!;
  const [yyyy, mm, dd] = date.split('-');
  return `${type}/${yyyy}/${mm}/${dd}/${parts.slice(2, -2).join('/')}/${range}.jsonl`;
}

/** The index entry's key of a data object's key (`archiveKey`), or undefined for a key of another shape. */
export function indexKeyOfData(key: string): string | undefined {
  const parts = key.split('/');
  const range = parts.at(-1);
  if (parts.length < 6 || parts[1] === ARCHIVE_INDEX_SEGMENT || !range?.endsWith('.jsonl')) return undefined;
  const [type, yyyy, mm, dd] = parts;
  return `${indexPrefix(type!, parts.slice(4, -1).join('/'))}${yyyy}-${mm}-${dd}/${range.slice(0, -'.jsonl'.length)}`;
}

/**
 * Writes the index entry of every data object of a type that has none (an archive written before the index
 * existed): one listing of the whole type, once, so that reads of one aggregate find every object. Returns
 * the entries written. Idempotent.
 * @example await indexArchive(archive, 'account')
 */
export async function indexArchive(archive: ArchiveStore, aggregateType: string): Promise<string[]> {
  const keys = await archive.list(`${aggregateType}/`);
  const present = new Set(keys.filter(isArchiveIndexKey));
  const written: string[] = [];
  for (const key of keys) {
    const index = indexKeyOfData(key);
    if (index === undefined || present.has(index)) continue;
    await archive.put(index, key);
    written.push(index);
  }
  return written;
}

/** The aggregate id an archive key names (a data object's, `archiveKey`, or an index entry's), or undefined. */
export function aggregateIdOfKey(key: string): string | undefined {
  const parts = key.split('/');
  // An id with `/` in it spans several segments (between the day and the seq range, or the index
  // segment and the day).
  if (parts[1] === ARCHIVE_INDEX_SEGMENT) return parts.length >= 5 ? parts.slice(2, -2).join('/') : undefined;
  return parts.length >= 6 ? parts.slice(4, -1).join('/') : undefined;
}

/** Groups a run of events (seq order) into one object per day, in order, each with its index entry's key. */
export function archiveObjects(
  events: readonly EventEnvelope[],
): Array<{ key: string; body: string; index: string }> {
  const byDay = new Map<string, EventEnvelope[]>();
  for (const event of events) {
    const day = archiveDate(event);
    const run = byDay.get(day) ?? [];
    run.push(event);
    byDay.set(day, run);
  }
  return [...byDay.values()].map((run) => ({
    key: archiveKey(run),
    body: encodeArchive(run),
    index: archiveIndexKey(run),
  }));
}

/** One envelope per line, canonical JSON: the archive holds the events byte for byte as they were logged. */
export function encodeArchive(events: readonly EventEnvelope[]): string {
  return events.map((event) => `${canonicalJson(event)}\n`).join('');
}

/** Parses an archive object; every line must be a valid envelope, else ArchiveCorruptError names the line. */
export function decodeArchive(key: string, body: string): EventEnvelope[] {
  const lines = body.split('\n').filter((line) => line.length > 0);
  return lines.map((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new ArchiveCorruptError(key, `line ${index + 1} is not JSON`, { cause: error });
    }
    const parsed = eventEnvelopeSchema.safeParse(value);
    if (!parsed.success)
      throw new ArchiveCorruptError(
        key,
        `line ${index + 1} is not an event envelope: ${parsed.error.message}`,
      );
    return parsed.data;
  });
}

/**
 * An aggregate's full history: archived and hot events merged in seq order, each once (an archive run
 * interrupted before its stubs were written is archived again under another key); an archived stub of the
 * hot log gives way to its archived copy (same eventId). Two events at one seq are a corrupt history and
 * throw.
 */
export function mergeHistory(
  archived: readonly EventEnvelope[],
  hot: readonly EventEnvelope[],
): EventEnvelope[] {
  const bySeq = new Map<number, EventEnvelope>();
  for (const event of [...archived, ...hot]) {
    const known = bySeq.get(event.seq);
    if (known && known.eventId !== event.eventId)
      throw new ArchiveCorruptError(
        `${event.aggregateType}/${event.aggregateId}`,
        `seq ${event.seq} is ${known.eventId} in one place and ${event.eventId} in another`,
      );
    if (!known || isArchivedStub(known)) bySeq.set(event.seq, event);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** What a caller of `readArchivedEvents` needs: `seqs` (when given) limits the GETs to the objects covering them. */
export interface ArchiveReadOptions {
  /**
   * The seqs the caller wants (the quorum copy's whole copies of a few stubs): only the data objects whose
   * index key's seq range covers one of them are fetched; the result may hold other events of those objects.
   */
  readonly seqs?: Iterable<number>;
}

/** Data objects fetched at once by `readArchivedEvents` (S3 takes far more; one aggregate's read stays polite). */
export const ARCHIVE_GETS_IN_FLIGHT = 8;

/**
 * Every event of one aggregate the archive holds, in object order: what `mergeHistory` puts back in place
 * of the hot log's stubs. One listing of the aggregate's own index prefix (`archiveIndexKey`), then the GETs
 * of the data objects it names, at most `ARCHIVE_GETS_IN_FLIGHT` at once: the cost follows the aggregate, not
 * its type (live paths read this: the quorum copy's catch-up under its per-peer timeout, a landed retry, row
 * rebuilds, saga history). With `options.seqs`, only the objects whose seq range (in the index key) covers
 * one of them are fetched: one stub's whole copy is one GET, however many days the aggregate was archived.
 * An index entry whose data object is missing is a corrupt archive (the entry is written only after its
 * object).
 */
export async function readArchivedEvents(
  archive: ArchiveStore,
  aggregateType: string,
  aggregateId: string,
  options: ArchiveReadOptions = {},
): Promise<EventEnvelope[]> {
  let keys = bugEnabled('archive-lists-whole-type')
    ? (await archive.list(`${aggregateType}/`)).filter(
        (key) => !isArchiveIndexKey(key) && aggregateIdOfKey(key) === aggregateId,
      )
    : (await archive.list(indexPrefix(aggregateType, aggregateId)))
        // An id that is a prefix of another's (`a` and `a/b`) lists the other's entries too.
        .filter((key) => aggregateIdOfKey(key) === aggregateId)
        .map((key) => dataKeyOfIndex(key)!);
  if (options.seqs !== undefined) {
    const wanted = [...options.seqs];
    keys = keys.filter((key) => {
      const range = seqRangeOfKey(key);
      // A key whose range cannot be read is fetched: never miss an event for a name's sake.
      return !range || wanted.some((seq) => range.first <= seq && seq <= range.last);
    });
  }
  const bodies = new Array<EventEnvelope[]>(keys.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const at = next++;
      const key = keys[at]!;
      const body = await archive.get(key);
      if (body === undefined) {
        if (bugEnabled('archive-lists-whole-type')) {
          bodies[at] = [];
          continue;
        }
        throw new ArchiveCorruptError(key, 'named by the archive index but missing');
      }
      bodies[at] = decodeArchive(key, body);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ARCHIVE_GETS_IN_FLIGHT, keys.length) }, () => worker()));
  return bodies.flat();
}

/** The seq range a data object's key (`<first>-<last>.jsonl`) names, or undefined for another shape. */
export function seqRangeOfKey(key: string): { first: number; last: number } | undefined {
  const match = /^(\d+)-(\d+)(?:\.jsonl)?$/.exec(key.split('/').at(-1) ?? '');
  if (!match) return undefined;
  return { first: Number(match[1]), last: Number(match[2]) };
}
