import { coreBranchRetirer } from '../commands/branch-retirer.ts';
import { catchUpCoreRow, emptyRecord } from '../commands/execute.ts';
import { copyToPeer, type HomeLog, wholeFromArchive } from '../commands/quorum-copy.ts';
import type { QuorumPeer } from '../commands/quorum-peer.ts';
import { dynamoQuorumPeer } from '../commands/quorum-peer-dynamodb.ts';
import { majorityOf, regionNames } from '../config/topology.ts';
import { bugEnabled } from '../faults/switches.ts';
import { ForkBelowArchiveError } from '../lifecycle/errors.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { type FailoverCut, writeCuts } from '../ownership/failover-cut.ts';
import { type PartitionEntry, type PartitionValue, partitionKey } from '../ownership/partition-map.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { type QuorumMarker, readQuorumMarkers } from '../store/copy-markers.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';
import { collectedChain } from './collected-chain.ts';
import { mapBounded } from './input.ts';
import type { FencedMove } from './partition-moves.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** What the collection did; `blocked` partitions must stay fenced (start Failover again later). */
export interface CollectReport {
  readonly partitions: number;
  readonly aggregatesChecked: number;
  readonly eventsCollected: number;
  readonly blocked: Array<{ readonly partition: number; readonly reason: string }>;
  readonly skipped?: string;
  /**
   * Where the Failover's cut of the lost home's history (lib/ownership/failover-cut.ts) was written
   * (present when a fenced entry names the lost home). With quorum ack a survivor whose cut write failed
   * counts as unsealed (not collected from); with local ack it is best effort: a survivor not cut applies
   * the lost home's late events as before (a fork Repair or Failback settles).
   */
  readonly cuts?: { readonly written: string[]; readonly failed: string[] };
}

/** The cuts of the lost home's fenced entries (a fence naming another home is a move already checked). */
function cutsOf(lost: string, fenced: readonly FencedMove[]): FailoverCut[] {
  return fenced
    .filter((f) => f.entry.home === lost)
    .map((f) => ({ partition: f.entry.partition, region: lost, epoch: f.entry.epoch }));
}

/**
 * Writes the cuts into each region's control table; the regions written and those that failed. `skip`
 * leaves a cut out of one region (local ack: the partition's new home, see collectCopies).
 */
async function recordCuts(
  deps: RunbookDeps,
  regions: readonly string[],
  cuts: readonly FailoverCut[],
  skip: (region: string, cut: FailoverCut) => boolean = () => false,
): Promise<{ written: string[]; failed: string[] }> {
  const done = await Promise.all(
    regions.map((region) =>
      writeCuts(
        deps.cell(region).tables,
        cuts.filter((cut) => !skip(region, cut)),
      ).then(
        (stored) => stored.every(Boolean),
        () => false,
      ),
    ),
  );
  return {
    written: regions.filter((_, i) => done[i]),
    failed: regions.filter((_, i) => !done[i]),
  };
}

/** The deps' branch retirer (tests), else retireCoreBranch queueing in `queueIn`. */
function retirerFor(deps: RunbookDeps, queueIn: readonly RegionCell[]) {
  return deps.retireBranch ?? coreBranchRetirer((type) => deps.registry.get(type), queueIn);
}

/** A region's tables as a quorum peer (the runbook writes and reads them directly). */
export function cellPeer(
  deps: RunbookDeps,
  region: string,
  queueIn: readonly string[] = [region],
): QuorumPeer {
  const cell = deps.cell(region);
  const { client, events, replication, control } = cell.tables;
  const queues = queueIn.map((r) => deps.cell(r));
  const retire = retirerFor(deps, queues)(cell);
  return dynamoQuorumPeer({ region, client, tables: { events, replication, control }, retire });
}

/**
 * Writes every fenced entry to each survivor's own copy of the map (the committed value, so the register's
 * rule accepts it or already holds something newer). From then on the survivor refuses quorum copies from
 * the lost home's epoch, so what it holds now is all it will ever hold of that epoch. Returns, per
 * partition, the survivors sealed for it: those whose write of that entry was stored or refused
 * (something newer there). The seal is per partition: one busy register (a failed write) leaves that
 * partition unsealed at that survivor, not every other one (bug switch `per-region-seal`: the region).
 * The value written is the committed one whole, its run stamp included: a replica takes the same proposal
 * again, so a value without the stamp replaced the committed entry's in every survivor, and a run's
 * fence the Failover took as it is (a Switchover's move to the Failover's new home) was then no longer
 * that run's to unfence (bug switch `failover-seal-drops-run`, review failover-refence).
 */
async function sealSurvivors(
  deps: RunbookDeps,
  survivors: readonly string[],
  entries: readonly PartitionEntry[],
  cuts: readonly FailoverCut[],
): Promise<Map<number, string[]>> {
  const items = entries.map((e) => {
    const value: PartitionValue = {
      home: e.home,
      state: e.state,
      activeFrom: e.activeFrom,
      ...(e.reason ? { reason: e.reason } : {}),
      ...(e.run !== undefined && !bugEnabled('failover-seal-drops-run') ? { run: e.run } : {}),
    };
    return { key: partitionKey(e.partition), record: { epoch: e.epoch, ballot: e.ballot, value } };
  });
  const answers = await Promise.all(
    survivors.map(async (region) => {
      const { client, control } = deps.cell(region).tables;
      const replica = new DynamoControlReplica({ region, client, tableName: control });
      // The cut before the seal, both before this region's head is read: a lost home's event that lands
      // here after the collection's reads is refused by the applier, never put under the collected head.
      // Per partition, as the seal: one busy item must not un-seal the region for every partition.
      const stored = await writeCuts(deps.cell(region).tables, cuts).catch(() => cuts.map(() => false));
      const uncut = new Set(cuts.filter((_, i) => !stored[i]).map((c) => c.partition));
      const outcomes = await replica.writeOutcomes(items).catch(() => entries.map(() => 'failed' as const));
      const failed = outcomes.map((o, i) => o === 'failed' || uncut.has(entries[i]!.partition));
      const unsealed = bugEnabled('per-region-seal') && failed.includes(true);
      return { region, sealed: failed.map((f) => !f && !unsealed) };
    }),
  );
  const sealed = new Map<number, string[]>();
  entries.forEach((e, i) => {
    sealed.set(
      e.partition,
      answers.filter((a) => a.sealed[i]).map((a) => a.region),
    );
  });
  return sealed;
}

/**
 * `core.ack: local`, BumpEpochs after the unfence: each fenced partition's cut of the lost home written into
 * its new home (collectCopies cut the other survivors). From here the new home's applier takes a cut event
 * only on the home's lease, so the cut holds there once the partition moves on (review-finding-2); before
 * the unfence the lost home's late events reach it uncut and extend the history it is about to own
 * (review-finding-3). Nothing under quorum ack (collectCopies cut every survivor), nor with bug switch
 * `local-failover-skips-new-home-cut` (the new home not cut at all) or `new-home-cut-before-unfence`
 * (already cut by collectCopies).
 */
export async function cutNewHomes(
  deps: RunbookDeps,
  request: { readonly lost: string; readonly fenced: readonly FencedMove[] },
): Promise<{ written: string[]; failed: string[] } | undefined> {
  if (deps.topology.core.ack === 'quorum') return undefined;
  if (bugEnabled('local-failover-skips-new-home-cut') || bugEnabled('new-home-cut-before-unfence'))
    return undefined;
  const cuts = cutsOf(request.lost, request.fenced);
  if (cuts.length === 0) return undefined;
  const newHome = new Map(request.fenced.map((f) => [f.entry.partition, f.to]));
  const homes = [...new Set(cuts.map((cut) => newHome.get(cut.partition)!))];
  return recordCuts(deps, homes, cuts, (region, cut) => newHome.get(cut.partition) !== region);
}

/**
 * Leader completeness for `core.ack: 'quorum'` (Raft's election restriction, done by the new home): before a
 * moved partition is activated, its new home gathers from a majority of ALL regions (itself included,
 * every one sealed first) every core event it lacks, adopts the run that extends its log furthest
 * (`collectedChain`), folds it and copies it to the regions read. A write acknowledged by the lost home
 * sits on a majority (the home and `peersNeeded` peers), so any majority of survivors read after the seal
 * includes one of its holders. Batched: one seal write per region for all partitions, then one marker query
 * per region and partition (`readQuorumMarkers`, which lists the aggregates); each listed aggregate's head
 * is read from each holder's log, and only those whose heads the new home does not hold are read in full.
 */
export async function collectCopies(
  deps: RunbookDeps,
  request: {
    readonly lost: string;
    readonly fenced: readonly FencedMove[];
  },
): Promise<CollectReport> {
  const empty = { partitions: request.fenced.length, aggregatesChecked: 0, eventsCollected: 0, blocked: [] };
  const survivors = regionNames(deps.topology).filter((r) => r !== request.lost);
  const cuts = cutsOf(request.lost, request.fenced);
  if (deps.topology.core.ack !== 'quorum') {
    const skipped = { ...empty, skipped: 'core.ack local: no quorum copies' };
    if (cuts.length === 0) return skipped;
    // The new home is cut too, but only once it is the home (BumpEpochs, `cutNewHomes`): between the fence
    // and the unfence the register names no home, so its applier, which takes a cut event only while a
    // majority read names it home (CoreDrainDeps.homeLease), would quarantine the lost home's late event
    // for good although a survivor may have applied it (review-finding-3). Bug switch
    // `new-home-cut-before-unfence`: the new home cut here with the survivors.
    const newHome = new Map(request.fenced.map((f) => [f.entry.partition, f.to]));
    const skip = (region: string, cut: FailoverCut) =>
      !bugEnabled('new-home-cut-before-unfence') && newHome.get(cut.partition) === region;
    return { ...skipped, cuts: await recordCuts(deps, survivors, cuts, skip) };
  }
  if (bugEnabled('single-peer-quorum')) return { ...empty, skipped: 'bug switch single-peer-quorum' };
  if (request.fenced.length === 0) return empty;
  const sealed = await sealSurvivors(
    deps,
    survivors,
    request.fenced.map((f) => f.entry),
    cuts,
  );
  const needed = majorityOf(deps.topology);
  const reports = await mapBounded(request.fenced, deps.concurrency ?? 16, (move) =>
    collectPartition(deps, { move, sealed: sealed.get(move.entry.partition) ?? [], needed }),
  );
  return {
    partitions: request.fenced.length,
    aggregatesChecked: reports.reduce((n, r) => n + r.aggregates, 0),
    eventsCollected: reports.reduce((n, r) => n + r.collected, 0),
    blocked: reports.flatMap((r) => (r.blocked ? [{ partition: r.partition, reason: r.blocked }] : [])),
  };
}

interface PartitionReport {
  readonly partition: number;
  readonly aggregates: number;
  readonly collected: number;
  readonly blocked?: string;
}

async function collectPartition(
  deps: RunbookDeps,
  input: { move: FencedMove; sealed: readonly string[]; needed: number },
): Promise<PartitionReport> {
  const { entry, to } = input.move;
  const partition = entry.partition;
  if (!input.sealed.includes(to))
    return { partition, aggregates: 0, collected: 0, blocked: `${to} did not answer` };
  const others = input.sealed.filter((r) => r !== to);
  const lists = await Promise.all(
    others.map((region) => {
      const { client, replication } = deps.cell(region).tables;
      return readQuorumMarkers(client, replication, partition).then(
        (markers) => ({ region, markers }),
        () => undefined,
      );
    }),
  );
  const read = lists.filter((l): l is { region: string; markers: QuorumMarker[] } => l !== undefined);
  if (read.length + 1 < input.needed)
    return {
      partition,
      aggregates: 0,
      collected: 0,
      blocked: `${read.length + 1} of the ${input.needed} regions needed answered`,
    };
  const holders = groupBy(
    read.flatMap(({ region, markers }) => markers.map((marker) => ({ region, marker }))),
    ({ marker }) => `${marker.aggregateType}#${marker.aggregateId}`,
  );
  try {
    const collected = await mapBounded([...holders.values()], 8, (held) =>
      collectAggregate(deps, { home: to, held, epoch: entry.epoch, read: read.map((r) => r.region) }),
    );
    return { partition, aggregates: holders.size, collected: collected.reduce((a, b) => a + b, 0) };
  } catch (error) {
    return { partition, aggregates: holders.size, collected: 0, blocked: String(error) };
  }
}

/**
 * True when the new home already holds a holder's log head: the row's head is that very event, or the row
 * is past it and the home's log holds that event at its seq (the chain rule then gives it everything before).
 * The head is read from the holder's log, never taken from its copy marker: a marker only lists the
 * aggregate, since a retired branch can leave it naming an event the log no longer holds (and a holder's
 * later events may have come by a path that does not move it). A row past the head's seq alone proves
 * nothing: it may be on an older epoch's branch (a region that was home before and is chosen again before
 * its Failback) while the holder has the later home's acknowledged event at that seq.
 */
async function covers(home: RegionCell, row: StateRecord, head: LogHead | undefined): Promise<boolean> {
  if (!head) return true;
  if (row.seq === head.seq) return row.head === head.hlc;
  if (row.seq < head.seq) return false;
  const afterSortKey = eventSortKey('core', { seq: head.seq - 1, hlc: '' });
  const pages = home.events.pages(head.aggregateType, head.aggregateId, { afterSortKey, pageSize: 1 });
  for await (const page of pages) return page[0]?.seq === head.seq && page[0].hlc === head.hlc;
  return false;
}

/** The last event of a holder's log, as `covers` compares it. */
type LogHead = Pick<EventEnvelope, 'aggregateType' | 'aggregateId' | 'seq' | 'hlc'>;

/** The new home's events of one aggregate with seq in [fromSeq, toSeq]. */
function homeLogOf(cell: RegionCell, like: EventEnvelope): HomeLog {
  return async (fromSeq, toSeq) =>
    (
      await cell.events.loadStream(like.aggregateType, like.aggregateId, {
        afterSortKey: eventSortKey('core', { seq: fromSeq - 1, hlc: '' }),
      })
    ).filter((e) => e.seq <= toSeq);
}

/**
 * The events to append, each whole: an archived stub on the run (a holder that archived) is replaced by a
 * whole copy from another log read; none (every copy archived): ForkBelowArchiveError, the partition stays
 * blocked rather than take an event without its payload.
 */
function wholeOf(
  aggregate: { readonly name: string },
  events: readonly EventEnvelope[],
  logs: ReadonlyArray<readonly EventEnvelope[]>,
): EventEnvelope[] {
  const whole = new Map<string, EventEnvelope>();
  for (const log of logs) for (const e of log) if (!isArchivedStub(e)) whole.set(e.eventId, e);
  return events.map((e) => {
    const copy = isArchivedStub(e) ? whole.get(e.eventId) : e;
    if (!copy) throw new ForkBelowArchiveError(aggregate.name, e.aggregateId, e.seq);
    return copy;
  });
}

/** Collects one aggregate into the new home; returns how many events the home lacked. */
async function collectAggregate(
  deps: RunbookDeps,
  input: {
    home: string;
    held: ReadonlyArray<{ region: string; marker: QuorumMarker }>;
    epoch: number;
    read: readonly string[];
  },
): Promise<number> {
  const { aggregateType, aggregateId } = input.held[0]!.marker;
  if (!deps.registry.has(aggregateType)) return 0;
  const aggregate = deps.registry.get(aggregateType);
  const home = deps.cell(input.home);
  const row = (await home.states.getState(aggregateType, aggregateId)) ?? emptyRecord(aggregate, aggregateId);
  // Bug switch `marker-trusting-collection`: the marker's claim taken for the holder's head.
  const heads = await Promise.all(
    input.held.map((h) =>
      bugEnabled('marker-trusting-collection')
        ? h.marker
        : deps.cell(h.region).events.latest(aggregateType, aggregateId),
    ),
  );
  const covered = await Promise.all(heads.map((head) => covers(home, row, head)));
  if (covered.every(Boolean)) return 0;
  // Whole logs, from seq 1: the home's row may sit on a branch that loses (see covers), so the run cannot
  // start from it; at a fork the higher epoch wins (collectedChain) and the home's events off the run are
  // another branch (retired, or the partition stays blocked).
  const [homeLog, ...peerLogs] = await Promise.all([
    home.events.loadStream(aggregateType, aggregateId),
    ...input.held.map((h) => cellPeer(deps, h.region).eventsFrom(aggregateType, aggregateId, 1)),
  ]);
  const mine = new Set(homeLog.map((e) => e.eventId));
  const run = collectedChain({ seq: 0, hlc: null }, [homeLog, ...peerLogs], mine);
  const onRun = new Set(run.map((e) => e.eventId));
  const losing = homeLog.filter((e) => !onRun.has(e.eventId));
  if (losing.length > 0) {
    // Queued in the new home and in every survivor the collection read (the lost region is out of reach).
    const queueIn = [home, ...input.read.filter((r) => r !== input.home).map((r) => deps.cell(r))];
    const retire = retirerFor(deps, queueIn)(home);
    // Under the seal check of this Failover's epoch: the read above may be old by the time each delete runs
    // (a frozen Lambda thawed), and a later Failover that sealed this region past the epoch may have
    // collected these very events and had its acknowledged writes copied on top of them. Refused (sealed):
    // the partition stays blocked. Bug switch `collection-retire-unsealed`: deleted whatever came since.
    const writer = bugEnabled('collection-retire-unsealed') ? {} : { writer: { epoch: input.epoch } };
    await retire({ losing, winning: run, reason: 'not-collected-at-failover', ...writer });
  }
  const adopted = run.filter((e) => !mine.has(e.eventId));
  for (const event of wholeOf(aggregate, adopted, [homeLog, ...peerLogs]))
    await home.events.appendEvents([event], { tier: 'core' });
  await catchUpCoreRow(home, aggregate, aggregateId);
  // What the home had not folded before: the run past its row, or from the fork when the row was off it.
  const from = Math.min(row.seq + 1, ...adopted.map((e) => e.seq), ...losing.map((e) => e.seq));
  const tail = run.filter((e) => e.seq >= from);
  if (tail.length > 0) {
    // The run may include writes no majority held (answered 503): make it survive the new home's loss too.
    const others = input.read.filter((r) => r !== input.home);
    await Promise.all(
      others.map((region) =>
        copyToPeer({
          // A peer's losing branch is queued in every region the collection reached, as Repair does.
          peer: cellPeer(deps, region, input.read),
          events: tail,
          epoch: input.epoch,
          home: homeLogOf(home, tail[0]!),
          // The new home's own stubs go out whole from its archive, or that peer is refused (never a stub).
          ...(home.archive ? { whole: wholeFromArchive(home.archive)! } : {}),
        }).catch(() => undefined),
      ),
    );
  }
  return adopted.length;
}
