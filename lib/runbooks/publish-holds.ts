import type { CoreBranchRecord } from '../commands/retire-branch.ts';
import type { ConflictRecord } from '../conflict/record-store.ts';
import { bugEnabled } from '../faults/switches.ts';
import { DynamoPublishHolds, type PublishHold } from '../replication/publish-holds.ts';
import type { RegionCell } from './ports.ts';

/** Hold ids listed in the outcome (the counts are exact). */
const MAX_KEPT_LISTED = 10;

export interface ReleaseHoldsInput {
  /** The regions of the run (their cells): holds are released in those of `into`. */
  readonly cells: readonly RegionCell[];
  readonly into: readonly string[];
  /** The partitions the run checks: where a hold without its partition is looked up. */
  readonly partitions: readonly number[];
  /** Every region of the topology: a hold is released only once each of them holds its event. */
  readonly everyRegion: readonly string[];
  /** A region's cell (one outside the run included); throwing, or failing to read, counts as not holding. */
  readonly cellOf: (region: string) => RegionCell;
  /**
   * Bound on each call to a region (runbook clients carry no request timeout: a blackholed region would
   * hang the run). A region that does not answer in time keeps its holds, counts as lacking the events
   * asked of it, and is reported in `unanswered`. Default HOLD_CALL_TIMEOUT_MS.
   */
  readonly callTimeoutMs?: number;
}

/** Default bound on each call to a region while releasing holds. */
export const HOLD_CALL_TIMEOUT_MS = 5_000;

export interface HoldsOutcome {
  readonly released: number;
  /** Holds left in place (some region lacks the event, or no event is known behind the hold). */
  readonly kept: number;
  /** The first MAX_KEPT_LISTED of them, `<region>:<id>`. */
  readonly keptIds: readonly string[];
  /** Regions of `into` that did not answer (their holds left as they are, not counted). */
  readonly unanswered: readonly string[];
}

/** A call to a region that did not answer within the bound. */
class RegionSilentError extends Error {
  override readonly name = 'RegionSilentError';
  constructor(
    readonly region: string,
    readonly ms: number,
  ) {
    super(`region ${region} did not answer within ${ms} ms`);
  }
}

/** `call`, or RegionSilentError once `ms` pass (switch `repair-holds-unbounded`: unbounded). */
function answered<T>(region: string, ms: number, call: () => Promise<T>): Promise<T> {
  if (bugEnabled('repair-holds-unbounded')) return call();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RegionSilentError(region, ms)), ms);
  });
  return Promise.race([call(), silent]).finally(() => clearTimeout(timer));
}

/**
 * Releases, in each region of `into`, the publish holds (PUBLISH_HOLD in its replication table) that no
 * longer say anything true:
 * - of events every other region OF THE TOPOLOGY already holds (a region outside the run, or unreachable,
 *   counts as lacking it): a point-in-time restore brings back the holds of T with the tables, while the
 *   restored stream never publishes those events again, so nothing else would release them;
 * - of events the region's own log no longer holds and a core-branch record carries (retired into the
 *   manual queue: no peer will ever hold them, the operator works from the record).
 * Left in place, every heartbeat carries the oldest hold and every peer's watermark from the region stops
 * below it for good. A hold whose event some region lacks stays (the floor is right); so does a hold with
 * no event behind it (`record:<seq>`, an unreadable stream record: released when its batch is redriven):
 * both are reported as kept. A hold without its partition (written before holds recorded it) is looked up
 * in `partitions`.
 */
export async function releasePublishedHolds(input: ReleaseHoldsInput): Promise<HoldsOutcome> {
  let released = 0;
  const keptIds: string[] = [];
  let kept = 0;
  const unanswered: string[] = [];
  const ms = input.callTimeoutMs ?? HOLD_CALL_TIMEOUT_MS;
  const orphans = new RetiredEvents(input.cells, ms);
  for (const cell of input.cells) {
    if (!input.into.includes(cell.region)) continue;
    const holds = new DynamoPublishHolds({ client: cell.tables.client, tableName: cell.tables.replication });
    try {
      const held = await answered(cell.region, ms, () => holds.list());
      if (held.length === 0) continue;
      const release = await releasable({ ...input, callTimeoutMs: ms }, cell, held, orphans);
      await answered(cell.region, ms, () => holds.release([...release]));
      released += release.size;
      const left = held.filter((hold) => !release.has(hold.id));
      kept += left.length;
      for (const hold of left.slice(0, MAX_KEPT_LISTED - keptIds.length))
        keptIds.push(`${cell.region}:${hold.id}`);
    } catch (error) {
      if (!(error instanceof RegionSilentError)) throw error;
      unanswered.push(cell.region);
    }
  }
  return { released, kept, keptIds, unanswered };
}

/** The held ids of `cell` to release: held by every other region, or retired into the queue. */
async function releasable(
  input: ReleaseHoldsInput,
  cell: RegionCell,
  held: readonly PublishHold[],
  orphans: RetiredEvents,
): Promise<Set<string>> {
  const release = new Set<string>();
  if (bugEnabled('repair-keeps-restored-holds')) return release;
  const ms = input.callTimeoutMs ?? HOLD_CALL_TIMEOUT_MS;
  const others = input.everyRegion.filter((r) => r !== cell.region);
  for (const [partition, ids] of await byPartition(cell, held, input.partitions, ms)) {
    const holders = await Promise.all(others.map((r) => eventsIn(input, r, partition, ids)));
    for (const id of ids) if (holders.every((events) => events.has(id))) release.add(id);
  }
  if (!bugEnabled('repair-keeps-retired-holds')) {
    const left = held.filter((hold) => !release.has(hold.id));
    for (const id of await retiredFrom(cell, left, await orphans.carrying(left), ms)) release.add(id);
  }
  return release;
}

/** The ids of `ids` that `region`'s log holds in `partition`; none when it cannot be read or is silent. */
async function eventsIn(input: ReleaseHoldsInput, region: string, partition: number, ids: string[]) {
  try {
    const ms = input.callTimeoutMs ?? HOLD_CALL_TIMEOUT_MS;
    const events = await answered(region, ms, () => input.cellOf(region).source.getEvents(partition, ids));
    return new Set(events.map((e) => e.eventId));
  } catch {
    return new Set<string>();
  }
}

/**
 * The core-branch records of the run's queues, by the eventId each retired: every open one (read once),
 * then, for held events none of those carries, the resolved ones too (`listCarrying`, a scan made only
 * then): an operator who resolved the record before the verifying Repair does not keep the hold alive.
 * A queue that does not answer in time is skipped.
 */
class RetiredEvents {
  private open: Map<string, CoreBranchRecord> | undefined;
  private readonly resolved = new Map<string, CoreBranchRecord>();
  private readonly looked = new Set<string>();

  constructor(
    private readonly cells: readonly RegionCell[],
    private readonly ms: number,
  ) {}

  async carrying(held: readonly PublishHold[]): Promise<ReadonlyMap<string, CoreBranchRecord>> {
    this.open ??= await this.collect((cell) => cell.conflicts.listOpen?.() ?? Promise.resolve([]));
    const found = new Map([...this.open, ...this.resolved]);
    if (bugEnabled('hold-release-reads-open-records-only')) return found;
    const missing = held.map((h) => h.id).filter((id) => !found.has(id) && !this.looked.has(id));
    if (missing.length === 0) return found;
    for (const id of missing) this.looked.add(id);
    const more = await this.collect((cell) => cell.conflicts.listCarrying?.(missing) ?? Promise.resolve([]));
    for (const [id, record] of more) {
      this.resolved.set(id, record);
      found.set(id, record);
    }
    return found;
  }

  private async collect(read: (cell: RegionCell) => Promise<ConflictRecord[]>) {
    const byOrphan = new Map<string, CoreBranchRecord>();
    for (const cell of this.cells) {
      let records: ConflictRecord[];
      try {
        records = await answered(cell.region, this.ms, () => read(cell));
      } catch (error) {
        if (error instanceof RegionSilentError) continue;
        throw error;
      }
      for (const record of records as ReadonlyArray<ConflictRecord & Partial<CoreBranchRecord>>) {
        const orphan = record.kind === 'core-branch' ? record.versions?.orphan : undefined;
        if (orphan) byOrphan.set(orphan.eventId, record as ConflictRecord & CoreBranchRecord);
      }
    }
    return byOrphan;
  }
}

/** The held ids a core-branch record carries and the region's own log (in the orphan's partition) lacks. */
async function retiredFrom(
  cell: RegionCell,
  held: readonly PublishHold[],
  orphans: ReadonlyMap<string, CoreBranchRecord>,
  ms: number,
): Promise<string[]> {
  const out: string[] = [];
  for (const hold of held) {
    const orphan = orphans.get(hold.id)?.versions.orphan;
    if (!orphan) continue;
    const logged = await answered(cell.region, ms, () => cell.source.getEvents(orphan.partition, [hold.id]));
    if (!logged.some((e) => e.eventId === hold.id)) out.push(hold.id);
  }
  return out;
}

/** The held ids per partition: a hold's own partition, else the one of `partitions` the region's log holds it in. */
async function byPartition(
  cell: RegionCell,
  held: readonly PublishHold[],
  partitions: readonly number[],
  ms: number,
): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  const add = (partition: number, id: string) => found.set(partition, [...(found.get(partition) ?? []), id]);
  const unplaced = new Set<string>();
  for (const hold of held) {
    if (hold.partition === undefined) unplaced.add(hold.id);
    else add(hold.partition, hold.id);
  }
  for (const partition of partitions) {
    if (unplaced.size === 0) break;
    const events = await answered(cell.region, ms, () => cell.source.getEvents(partition, [...unplaced]));
    for (const event of events) {
      add(partition, event.eventId);
      unplaced.delete(event.eventId);
    }
  }
  return found;
}
