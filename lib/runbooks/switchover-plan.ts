import { decodeHlc } from '../clock/hlc.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { PartitionEntry } from '../ownership/partition-map.ts';
import type { EventLeaf } from '../repair/merkle.ts';
import type { StateRecord } from '../store/state-store.ts';
import { coreEventsLacking, isCoreKey } from './core-lacking.ts';
import { InvalidRunbookInputError } from './errors.ts';
import { readAllEntries } from './failover-tasks.ts';
import { TaskInput } from './input.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** One partition of a switchover: its home before (`from`) and the epoch the fence committed. */
export interface SwitchoverMove {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
  readonly fencedEpoch: number;
  /**
   * The rest of the fence as Fence committed it (its proposal id and `activeFrom`): MoveHome makes its
   * compare-and-set on that entry without reading it again. Absent in older executions' state.
   */
  readonly fenced?: { readonly ballot: string; readonly activeFrom: number };
}

/** What the execution input asks for: some partitions, or every partition homed in `from`. */
export interface SwitchoverRequest {
  readonly to: string;
  readonly from?: string;
  readonly partitions?: number[];
}

/** Parses `{ partitions?, from?, to }`; one of `partitions` and `from` is required. */
export function switchoverRequest(task: string, raw: Record<string, unknown>): SwitchoverRequest {
  const input = new TaskInput('switchover', task, raw);
  const to = input.string('to');
  const partitions = input.partitions();
  const from = raw.from === undefined ? undefined : input.string('from');
  if (!partitions && !from)
    throw new InvalidRunbookInputError(
      'switchover',
      task,
      'partitions',
      'give partitions, or from (a region)',
    );
  return { to, ...(from ? { from } : {}), ...(partitions ? { partitions } : {}) };
}

/**
 * Why Fence leaves a partition alone (null: fence it): no home, homed elsewhere than `from`, already active
 * in `to`, or fenced by someone else (another execution, an operator, a Failover under way), unless it is
 * the fence of a run this execution was told to take over.
 */
export function whySkip(
  entry: PartitionEntry | null,
  request: SwitchoverRequest,
  run: { readonly runId: string; readonly takeOver: readonly string[] },
): string | null {
  if (!entry) return 'no home yet';
  if (request.from && entry.home !== request.from && entry.home !== request.to)
    return `homed in ${entry.home}, not ${request.from}`;
  if (entry.home === request.to && entry.state === 'active') return `already homed in ${request.to}`;
  const foreign = entry.state === 'fenced' && entry.run !== run.runId;
  if (foreign && !(entry.run && run.takeOver.includes(entry.run)))
    return `fenced by someone else (${entry.reason}${entry.run ? `, run ${entry.run}` : ''})`;
  return null;
}

/** The partitions a request names: the listed ones, else every committed partition homed in `from`. */
export async function requestedPartitions(deps: RunbookDeps, request: SwitchoverRequest): Promise<number[]> {
  if (request.partitions) return [...new Set(request.partitions)].sort((a, b) => a - b);
  const entries = await readAllEntries(deps);
  return entries.filter((e) => e.home === request.from).map((e) => e.partition);
}

/**
 * The partitions a request names, with the committed entry of each when it was read on the way: a request
 * by `from` reads every entry in one quorum round (a scan) to find them, and Fence decides on those; listed
 * partitions are not read here (Fence reads each one).
 */
export async function requestedEntries(
  deps: RunbookDeps,
  request: SwitchoverRequest,
): Promise<{ partitions: number[]; read: Map<number, PartitionEntry | null> }> {
  if (request.partitions) return { partitions: await requestedPartitions(deps, request), read: new Map() };
  const entries = (await readAllEntries(deps)).filter((e) => e.home === request.from);
  return { partitions: entries.map((e) => e.partition), read: new Map(entries.map((e) => [e.partition, e])) };
}

/** Event ids of the partition that `source` lists and `target` does not, through the by-partition index. */
function missingAt(had: readonly EventLeaf[], has: readonly EventLeaf[]): string[] {
  const present = new Set(has.map((l) => l.eventId));
  return [...new Set(had.map((l) => l.eventId))].filter((id) => !present.has(id));
}

/**
 * How many of the events `source` holds and `target` lacks the switchover must wait for, by tier group:
 * - `core`: every core event (the single writer's log moves with the home), counted from strongly
 *   consistent reads (`coreEventsLacking`); MoveHome waits for these alone;
 * - `others`: important/ordinary events stamped at or before the fence (plus the skew margin), from the
 *   eventually consistent by-partition index, where an event listed but no longer returned counts as
 *   missing. Later ones are new writes, which every region keeps taking during a switchover and which
 *   replicate as usual: waiting for them would never end while users write. They are not homed, so the
 *   core move does not wait for them; the execution does, before it succeeds (CheckOtherTiers).
 * Bug switch `index-trusting-watermark`: core events from the index too, the old check.
 */
export async function blockingMissing(
  deps: Pick<RunbookDeps, 'registry' | 'concurrency'>,
  move: { source: RegionCell; target: RegionCell; partition: number },
  fence: { fencedAt: number; skewMarginMs: number; tiers: 'core' | 'others' },
): Promise<number> {
  const { source, target, partition } = move;
  const trustIndex = bugEnabled('index-trusting-watermark');
  // The core check compares the logs themselves (the target's index is not read): the source's leaves and
  // core markers are listed together, in one round trip to the source.
  if (fence.tiers === 'core' && !trustIndex)
    return (
      await coreEventsLacking(
        deps,
        { holder: source, other: target, partition },
        source.source.listLeaves(partition),
      )
    ).length;
  const [had, has] = await Promise.all([
    source.source.listLeaves(partition),
    target.source.listLeaves(partition),
  ]);
  const wanted = (key: string) => (fence.tiers === 'core') === isCoreKey(deps, key);
  const listed = new Set(had.filter((l) => wanted(l.aggregateKey)).map((l) => l.eventId));
  const ids = missingAt(had, has).filter((id) => listed.has(id));
  if (ids.length === 0 || fence.tiers === 'core') return ids.length;
  const events = await source.source.getEvents(partition, ids);
  const cutoff = fence.fencedAt + fence.skewMarginMs;
  const newWrites = events.filter((e) => decodeHlc(e.hlc).wall > cutoff).length;
  return ids.length - newWrites;
}

/** Aggregates (type, id) of a partition's listed leaves. */
export function aggregatesOf(leaves: readonly EventLeaf[]): Array<[string, string]> {
  const keys = new Set(leaves.map((l) => l.aggregateKey));
  return [...keys].map((key) => {
    const at = key.indexOf('#');
    return [key.slice(0, at), key.slice(at + 1)];
  });
}

/** The part of a state row two regions must agree on once they hold the same events. */
export function rowDigest(row: StateRecord | undefined): string {
  return row ? JSON.stringify([row.version, row.seq, row.head, row.state]) : 'absent';
}
