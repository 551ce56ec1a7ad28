import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ARCHIVED_ATTRIBUTE } from '../store/archived-stub.ts';
import type { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import { archivableEvents, archiveObjects, decodeArchive } from './archive.ts';
import type { ArchiveStore } from './archive-store.ts';
import { ArchiverConfigError, ArchiverNotHomeError, ArchiveVerificationError } from './errors.ts';
import { SNAPSHOTS_TRIED } from './fold.ts';
import type { HomeOf } from './home.ts';
import { retentionHorizon } from './retention.ts';
import { confirmedSnapshot, type Snapshot } from './snapshot.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** One peer region's watermarks (its replication table's, read strongly: lib/replication WatermarkStore). */
export interface PeerWatermarks {
  readonly region: string;
  watermarkFor(origin: string): Promise<{ readonly hlc: string } | undefined>;
  /**
   * Its log of one aggregate, read strongly (its events table). When given, an event is archived only while
   * this log holds it at its seq: a watermark also moves with heartbeats, so it can pass an event the peer
   * parked (its predecessor missing); the log cannot.
   */
  logOf?(
    aggregateType: string,
    aggregateId: string,
  ): Promise<ReadonlyArray<Pick<EventEnvelope, 'seq' | 'eventId'>>>;
}

export interface ArchiverDeps {
  readonly events: EventStore;
  readonly snapshots: SnapshotStore;
  readonly archive: ArchiveStore;
  /** The client and name of the events table, for the conditional stub writes. */
  readonly client: DynamoDBDocumentClient;
  readonly eventsTable: string;
  /**
   * Every peer region's watermarks: an event is archived only once each peer's watermark from its origin
   * has passed it (the origin itself excepted), so no replica still waits for it from this log.
   */
  readonly peers: readonly PeerWatermarks[];
  /**
   * This region and every region of the topology: each other region must have its entry in `peers` (a
   * region left out would turn the gate off for it), and, with `homeOf`, the aggregate's partition must be
   * homed here (only a home's snapshots and log are the reference). Absent: `peers` is trusted as given,
   * but an empty `peers` is refused (it would silently turn the watermark gate off).
   */
  readonly topology?: {
    readonly region: string;
    readonly regions: readonly string[];
    /**
     * `localHomeOf` on AWS and in the sandbox; its `recheck` is read again right before the stubs (a
     * `homeOf` without `recheck` is called again instead).
     */
    readonly homeOf?: HomeOf;
  };
}

export interface ArchiveRun {
  /** Events moved out of the hot table. */
  readonly archived: number;
  /** Data objects written (one per day of events; each with its index entry, `archiveIndexKey`). */
  readonly objects: readonly string[];
  /** The snapshot version that covered them, or null when none did (nothing moved). */
  readonly coveredBy: number | null;
}

/**
 * Moves the payloads of an aggregate's events that were logged before its retention horizon, are covered by
 * a snapshot the log confirms and have passed every peer's watermark from their origin out of the hot table
 * into the archive: objects written, read back and compared first, then each event's item turned into a
 * stub (payload removed, `archived` set; eventId, seq, hlc, prev and the rest kept) only while its slot
 * still holds that very event. The slot stays taken and the log keeps its chain and its Merkle leaves. A
 * run that dies half-way leaves events hot (and maybe archived twice: `mergeHistory` keeps each once),
 * never an event in neither place.
 */
export async function archiveAggregate(
  deps: ArchiverDeps,
  aggregate: AnyAggregate,
  input: { aggregateId: string; retentionDays: number; now: number },
): Promise<ArchiveRun> {
  checkPeers(deps);
  const hot = await deps.events.loadStream(aggregate.name, input.aggregateId);
  // Cheap (a pass may answer from its cache): skips an aggregate homed elsewhere before any peer is read.
  await checkHome(deps, aggregate, hot, deps.topology?.homeOf);
  const snapshot = await coveringSnapshot(deps.snapshots, aggregate, hot);
  if (!snapshot) return { archived: 0, objects: [], coveredBy: null };
  const old = archivableEvents(hot, snapshot, retentionHorizon(input.now, input.retentionDays));
  const covered = bugEnabled('archive-ignores-watermarks')
    ? old
    : await heldByEveryPeer(deps.peers, await seenByEveryPeer(deps.peers, old));
  if (covered.length === 0) return { archived: 0, objects: [], coveredBy: snapshot.version };
  const objects = archiveObjects(covered);
  for (const object of objects) {
    await deps.archive.put(object.key, object.body);
    // Read back byte for byte (and parsed) before anything leaves the hot table.
    const body = await deps.archive.get(object.key);
    if (body !== object.body) throw new ArchiveVerificationError(object.key);
    decodeArchive(object.key, body);
    // After its object, before any stub: every stub is reachable through the aggregate's index (a crash
    // in between leaves the events whole, and a re-run writes both again under the same keys).
    await deps.archive.put(object.index, object.key);
  }
  // Read again right before the stubs: a move fenced in this region's copy since the pass began (or since
  // the check above) leaves the events whole here.
  // A plain `homeOf` (no `recheck`) is asked again: it is the only reader of the map the archiver has.
  if (!bugEnabled('archiver-caches-home')) {
    const homeOf = deps.topology?.homeOf;
    const again = bugEnabled('archiver-no-recheck-plain-home')
      ? homeOf?.recheck
      : (homeOf?.recheck?.bind(homeOf) ?? homeOf);
    await checkHome(deps, aggregate, hot, again);
  }
  for (const event of covered)
    if (bugEnabled('archive-deletes-events')) await deleteIfStill(deps, event);
    else await stubIfStill(deps, event);
  return { archived: covered.length, objects: objects.map((o) => o.key), coveredBy: snapshot.version };
}

/** Throws ArchiverNotHomeError unless `homeOf` (when given) says the aggregate's partition is homed here. */
async function checkHome(
  deps: ArchiverDeps,
  aggregate: AnyAggregate,
  hot: readonly EventEnvelope[],
  homeOf: ((partition: number) => Promise<string | undefined>) | undefined,
): Promise<void> {
  const first = hot[0];
  if (!homeOf || !first || !deps.topology) return;
  const home = await homeOf(first.partition);
  if (home !== deps.topology.region)
    throw new ArchiverNotHomeError(
      `${aggregate.name}#${first.aggregateId}`,
      first.partition,
      home,
      deps.topology.region,
    );
}

/**
 * The prefix of `events` (seq order) that every peer's watermark from each event's origin has reached: a
 * peer behind (or with no watermark from that origin) may still be waiting for the event from this log.
 */
async function seenByEveryPeer(
  peers: readonly PeerWatermarks[],
  events: readonly EventEnvelope[],
): Promise<EventEnvelope[]> {
  const low = new Map<string, string | null>();
  const lowest = async (origin: string): Promise<string | null> => {
    const known = low.get(origin);
    if (known !== undefined) return known;
    let min: string | null = '\uffff';
    for (const peer of peers) {
      if (peer.region === origin) continue;
      const mark = (await peer.watermarkFor(origin))?.hlc ?? null;
      if (mark === null || (min !== null && mark < min)) min = mark;
      if (min === null) break;
    }
    low.set(origin, min);
    return min;
  };
  const seen: EventEnvelope[] = [];
  for (const event of events) {
    const mark = await lowest(event.origin);
    if (mark === null || event.hlc > mark) break;
    seen.push(event);
  }
  return seen;
}

/** The prefix of `events` every peer that can show its log holds, same eventId at each seq. */
async function heldByEveryPeer(
  peers: readonly PeerWatermarks[],
  events: readonly EventEnvelope[],
): Promise<EventEnvelope[]> {
  const first = events[0];
  if (!first) return [];
  let held = events.length;
  for (const peer of peers) {
    if (!peer.logOf) continue;
    const log = new Map(
      (await peer.logOf(first.aggregateType, first.aggregateId)).map((e) => [e.seq, e.eventId]),
    );
    const missing = events.findIndex((e) => log.get(e.seq) !== e.eventId);
    if (missing >= 0) held = Math.min(held, missing);
  }
  return events.slice(0, held);
}

/**
 * The newest snapshot (of the three a load tries) the hot log confirms, same eventId at its seq and the
 * current state shape: what the archived events must lie below. None: nothing is archived.
 */
async function coveringSnapshot(
  snapshots: SnapshotStore,
  aggregate: AnyAggregate,
  hot: readonly EventEnvelope[],
): Promise<Snapshot | undefined> {
  const tried: Snapshot[] = [];
  const first = hot[0];
  if (!first) return undefined;
  for await (const snapshot of snapshots.newestFirst(aggregate.name, first.aggregateId)) {
    tried.push(snapshot);
    if (tried.length >= SNAPSHOTS_TRIED) break;
  }
  return confirmedSnapshot(aggregate, tried, hot);
}

/** Turns an event's item into its stub (payload out, `archived` set) while its slot still holds that event. */
async function stubIfStill(deps: ArchiverDeps, event: EventEnvelope): Promise<void> {
  try {
    await deps.client.send(
      new UpdateCommand({
        TableName: deps.eventsTable,
        Key: { pk: aggregateKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
        UpdateExpression: `REMOVE payload SET ${ARCHIVED_ATTRIBUTE} = :archived`,
        ConditionExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': event.eventId, ':archived': true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Switch `archive-deletes-events`: deletes an event's item unless its slot now holds another event (nothing else is ever deleted). */
async function deleteIfStill(deps: ArchiverDeps, event: EventEnvelope): Promise<void> {
  try {
    await deps.client.send(
      new DeleteCommand({
        TableName: deps.eventsTable,
        Key: { pk: aggregateKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
        ConditionExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': event.eventId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * The watermark gate is on for every other region: an empty peer list needs a topology of this region
 * alone, and a topology's every other region needs its entry.
 */
function checkPeers(deps: ArchiverDeps): void {
  const { topology, peers } = deps;
  if (!topology) {
    if (peers.length === 0)
      throw new ArchiverConfigError(
        'peers: [] without a topology: the watermark gate would be off for every region; give `topology` (a single-region one for no peers)',
      );
    return;
  }
  const given = new Set(peers.map((p) => p.region));
  const missing = topology.regions.filter((r) => r !== topology.region && !given.has(r));
  if (missing.length > 0)
    throw new ArchiverConfigError(
      `peers lack ${missing.join(', ')}: every other region of the topology needs its watermarks for the gate`,
    );
}
