import { UnknownBugSwitchError } from './errors.ts';

/**
 * Deliberately broken builds for the proof suite (DESIGN.md §6.8): each switch brings back one bug that
 * a scenario test and the chaos checkers must catch, so a checker that stays green is shown able to fail.
 * Every switch is off unless a test or the chaos CLI (`MULTIACTIVE_TEST_BUGS=a,b`) turns it on; deployed
 * functions never do.
 */
export const BUG_SWITCHES = {
  'blind-rollback': 'Switchover Rollback moves a partition back without checking the entry it fenced',
  'unchained-fold': 'a replica folds any core event at row.seq + 1, whichever branch it extends',
  'orphan-delete-after-fork': 'Failback deletes core orphans after the first fork instead of queueing them',
  'quorum-cleanup-delete': 'the quorum ack deletes an orphan copy at a peer that already folded it',
  'repair-deletes-quorum-copy': 'Repair deletes the peer copy of a quorum-acknowledged core write',
  'single-peer-quorum': 'quorum ack copies to one peer (not a majority) and failover collects nothing',
  'unbounded-inflight': 'core writes do not re-check the lease before the append (no in-flight bound)',
  'unclaimed-failover':
    'every watchdog that sees a majority suspect a region starts its own Failover (no quorum claim)',
  'index-trusting-watermark':
    "Switchover's CheckWatermark and Rollback compare core logs through the eventually consistent index",
  'unfenced-refusal': 'a core command is decided (and refused) before the home lease is checked',
  'marker-trusting-collection':
    "Failover's collection takes a holder's copy marker for its log head (a retired branch leaves it stale)",
  'stored-copy-unmarked':
    'a quorum copy that finds its events already stored counts without the copy marker or the seal check',
  'non-idempotent-confirm':
    'a saga Confirm step runs again when retried or duplicated (the example bank credits a transfer twice)',
  'noop-skips-quorum-copy':
    'a core command decided as a no-op under quorum ack answers without copying the head it decided on to a majority',
  'per-seq-epoch-collection':
    "Failover's collection picks, at each seq, the event of the higher epoch, not the branch reaching the higher epoch",
  'old-epoch-landed-ack':
    "a retry whose landed write, or a no-op whose head, is of an earlier epoch is acknowledged by that event's copies alone",
  'quorum-retire-any-epoch':
    "a quorum copy retires a peer's other branch whatever its epoch (a stale writer retires a newer home's)",
  'collection-retire-unsealed':
    "Failover's collection retires the new home's own off-run events without the seal check of its epoch",
  'late-try-holds':
    "a transfer's Try that reaches the source after the hold's expiry places the hold anyway (expired from the start)",
  'hold-expiry-by-sender-clock':
    "a transfer's source (and the saga's Decide) judges the expiry by the coordinator's clock when it sent the step, not the home's when it decides: a Try delivered late places a hold already expired",
  'lockstep-claims':
    'a watchdog that lost the failover claim race waits for its next tick (two survivors can lose every round)',
  'local-refusal-unsealed':
    'under ack local, a new home refuses (or answers a no-op) on a head of an earlier epoch without sealing it with its epoch no-op',
  'home-row-left-behind':
    "the publisher does not catch up a home's core row left behind its log (an append that landed after its answer timed out): a transfer begun so is never found by its home's sweep",
  'fold-on-arrival':
    'a replica folds every replicated important/ordinary event on top of its row in arrival order, not in HLC order (lww picks the last arrival)',
  'batch-arrival-order':
    'the ordinary lane folds a batch of an aggregate on top of its row in arrival order, not in HLC order (the last arrival wins)',
  'archive-pass-restarts':
    "the archiver begins every run at the start of the state table: a pass longer than one run (the function's timeout) never reaches the aggregates past the first run's reach",
  'lane-runs-by-count':
    "the ordinary lane cuts runs of an aggregate by event count only: large events pass TransactWriteItems' 4 MB and the run is refused on every delivery",
  'lane-validation-transient':
    "the ordinary lane takes a ValidationException of a run's transaction for transient: the same records fail on every delivery, to the dead letters",
  'lane-same-key-run':
    'the ordinary lane writes two events claiming one key in one transaction (DynamoDB refuses it: multiple operations on one item)',
  'lane-runs-by-json':
    "the ordinary lane sizes a run by its events' JSON length, not by DynamoDB's measures: numeric payloads make a run over 4 MB of items or a request over 16 MB",
  'lane-packed-unguarded-row':
    "the ordinary lane's packed transaction (several aggregates' runs at once) writes a run's row without its version condition: a local write between the batch's read and the commit is overwritten by a row that never folded it",
  'lane-client-error-transient':
    'the ordinary lane takes a non-throttling 4xx other than ValidationException (HTTP 413: the request is too large) for transient: the whole group fails on every delivery, to the dead letters',
  'applier-failures-not-redriven':
    'applier-failures has no event source mapping: a real-time apply that failed three times (Lambda retries twice) waits there until an operator moves it, and the region misses the event meanwhile',
  'lane-queues-deleted':
    "the ordinary lane's queue and dead letters keep CDK's default removal policy: turning the lane off deletes them with the unapplied events they hold",
  'lane-routes-by-type-list':
    "the ordinary lane's rules route on lists of aggregate types (updated one rule at a time by a deploy) instead of the tier the publisher stamps: a type leaving the lane matches no rule meanwhile and EventBridge drops its events",
  'lane-lag-counts-window':
    "the ordinary lane's group commit stamps the watermark applied now, so the batching window an event waited in the lane counts as replication lag: a window as long as degradeLagMs can open the sync breaker of a healthy peer",
  'watermark-waits-on-older-write':
    'a watermark advance waits for the write in flight whatever its HLC: it resolves (the event counted as covered) before a watermark as new as its own is stored',
  'lane-watermark-past-failed':
    "the ordinary lane's group commit advances an origin's watermark past an older event of that origin the batch reported failed",
  'unchecked-catch-up':
    'a core row is caught up with its log by a put guarded on the row alone, not on the log still holding the folded events: a branch retired meanwhile comes back as the row',
  'unchecked-snapshot':
    'loading an aggregate folds its newest snapshot without checking that the log still holds the event the snapshot ends on (a snapshot of a retired branch is trusted)',
  'failover-results-inline':
    "the Failover keeps every task's result in the state machine's payload: past ~1,600 partitions (three regions) the state passes Step Functions' 256 KiB and the execution fails with States.DataLimitExceeded",
  'repair-item-per-partition':
    "Repair's Map gets one item per partition whatever their number: past ~1,300 partitions with events the execution passes Step Functions' 25,000 history events (or 256 KiB of state) and fails",
  'retry-rewrites':
    'a retry of a core write whose outcome was unknown (same idempotency key) is decided and appended again',
  'repair-async-core-replay':
    "Repair hands the peers' core events a restored region lacks to its applier (asynchronously: on AWS the bus) instead of putting them into its log in seq order: until they land, a home write there takes a lost event's seq",
  'repair-aborts-on-taken-slot':
    "a slot already taken (ConcurrencyError) while Repair appends a region's lacking events directly aborts the partition's whole Replay",
  'repair-unchecked-own-events':
    "Repair appends a region's own lacking events directly without the applier's checks (envelope, HLC origin, payload, size, chain)",
  'repair-direct-ignores-row':
    "Repair's direct delivery appends a core event on the log's check alone (not the row's): racing a branch retire it puts a retired event back into the log",
  'repair-batch-unguarded-row':
    "Repair's batched delivery writes an aggregate's re-materialised row without the condition on the row as read: a command or applier write that lands between its read and its transaction is overwritten (the log keeps the event, the row loses it)",
  'repair-batch-parallel-reads':
    "Repair's batched delivery reads an important or ordinary aggregate's row and log at once: a live write landing after the log read and before the row read passes the row guard and is overwritten out of the row (a manual conflict with it goes unseen)",
  'repair-batch-rows-uncounted':
    "Repair's batched delivery sizes a grouped transaction by its events' JSON bytes only (not the re-materialised rows) and rethrows DynamoDB's ValidationException: a group of large-state aggregates passes 4 MB and the partition's Replay fails on every redrive",
  'repair-batch-trusts-duplicate-row':
    "Repair's batched delivery takes the row it folded for written when every event of a chunk was already in the log (appendEvents wrote nothing, the row Put included): the core catch-up starts from that fold, and the row stays behind its log",
  'repair-direct-skips-reconcile':
    "Repair puts a region's own important events into its log directly without the applier's conflict reconciliation: its own ConflictResolved, back after a restore, leaves its record open",
  'retire-pairs-retired-event-again':
    'a branch retire queues a new record for an event a queue already holds a record of (paired with a newer winning event after a restore): two open records for one retired event',
  'repair-keeps-restored-holds':
    "Repair leaves a region's publish holds as they are: after a point-in-time restore, a hold of T whose event every peer holds is never released and peers' watermarks from the region stop below it",
  'retire-one-event-at-a-time':
    'a branch retire deletes the losing events one conditional delete at a time, each checking its own slot only: an event written on top of the branch meanwhile (a delivery, the applier) is left in the log chained to nothing, in no queue, and a copy put back between two deletes splits the log',
  'repair-resolves-unlogged':
    "Repair marks a region's open record resolved from another region's resolved record even when the resolution event is in no log there: a resolution lost with a region restored to before it leaves the conflict resolved by nothing",
  'repair-keeps-retired-holds':
    "Repair keeps the publish hold of an event retired into the manual queue (in no log, no peer will ever hold it): every heartbeat of the region carries it and peers' watermarks from the region stop below it for good",
  'repair-skips-conflict-queue':
    "Repair leaves a region's manual conflict queue as it is: after a point-in-time restore, the open records queued there after T are gone",
  'retire-takes-unchained-above':
    "a branch retire takes along every event above its branch that is not in the caller's read of the winning branch, chained onto the branch or not: a home event written after that read, above a winning event left on top of a joined log, is deleted and queued as a loser",
  'sealed-retire-keeps-records':
    "a branch retire refused by the seal (or by a move of the home) leaves the records it created open for events its log still holds: a later epoch's acknowledged write found on top of the branch stays queued as retired, lost",
  'hold-release-reads-open-records-only':
    'Repair releases the publish hold of a retired event only while an OPEN core-branch record carries it: once the operator resolved that record, the hold is kept for good',
  'retire-folds-chunk-by-chunk':
    'a multi-chunk branch retire folds the row each chunk leaves only when it gets there: a last chunk whose fold has no snapshot below the fork throws after the first chunks were deleted (half a branch gone)',
  'retire-ignores-home-move':
    "Repair's and Failback's branch retire does not check that the partition's home is still the one read: a Failover between that read and the retire has the new home's branch retired as the loser",
  'repair-holds-unbounded':
    "Repair's release of publish holds waits on every region's answer without a bound: a blackholed region hangs the whole run",
  'retire-withdraws-relied-on-records':
    'a branch retire refused after queueing withdraws the records it created though a concurrent retire of the same branch found them there and deletes the event meanwhile (and a retire does not make sure of its records once its chunk committed): the event leaves every log with no record in any queue',
  'failed-retire-keeps-records':
    "a branch retire that fails after queueing (throttled, timed out, ContentionError) leaves its records open for events still logged, a retire whose pair is taken by such a stale reversed record leaves it as it is, and the settlement keeps open records of events on the winning branch: once the home moves to the failed retire's region, its acknowledged write stays queued as lost and the new loser leaves the logs under the other event's record",
  'drill-ignores-unanswered-holds':
    "the restore drill's verifying pass reads holdsKept and holdsReleased only, not holdsUnanswered: a pass in which a region did not answer for its publish holds is taken as clean and the restored region is reopened",
  'repair-lists-ten-refusals-per-item':
    "each Repair Map item lists ten refused events, whole: a run whose 512 items all refused events passes Step Functions' 256 KiB of state and fails",
  'archive-deletes-events':
    'the archiver deletes archived events from the hot table instead of leaving stubs (eventId, hlc, prev) in their slots: an archived seq is free again (a home whose row is behind the archive point appends a second event there) and Merkle leaves lose the archived events',
  'archive-ignores-watermarks':
    "the archiver moves an event out of the home's hot table without waiting for every peer's watermark from its origin to pass it: a replica that has not received it yet can never get it from the home's log",
  'archiver-caches-home':
    "the archiver trusts the home answer its pass cached (localHomeOf) and does not read this region's copy of the partition map again before its stub writes: a partition a Switchover fenced and moved during the pass is still stubbed by the old home",
  'archiver-no-recheck-plain-home':
    "the archiver's re-read right before its stub writes happens only through `HomeOf.recheck`: a `topology.homeOf` without it (a plain function) gets no second look, and a partition moved during the pass is still stubbed by the old home",
  'plan-forgets-archived-stubs':
    "`multiactive plan` approves dropping a core type's `retentionDays` without `lifecycle.archive: 'keep'` (and the build then wires no archive when it was the last retention), so the type can leave core in a second plan with stubs still in its logs",
  'archive-lists-whole-type':
    "reading one aggregate's archive lists its whole type's archive (`<type>/`, every aggregate and day) and filters by id, instead of the aggregate's own index prefix: the quorum copy's catch-up under its 1 s per-peer budget grows with the type",
  'merkle-skips-past-retention':
    "Repair's Merkle leaves leave out events past their type's retention horizon: a returning region's orphans older than retentionDays are never compared, never settled",
  'rebuild-ignores-archive':
    "the archive-aware fold of a core log (a retire's row, Repair's row rebuild, a landed retry's answer) uses the snapshots only, never the archive: a log whose kept snapshots are all above the fork or the write cannot be folded",
  'repair-aborts-on-unfoldable-row':
    "a row Repair cannot rebuild (its log holds stubs no usable snapshot or archive covers, e.g. after a stateVersion bump) aborts the partition's whole Replay: the other aggregates' diverged rows are never rebuilt",
  'repair-single-source':
    "Repair fetches each event a region lacks from its first holder only: a holder with only its archived stub (Repair's getEvents leaves stubs out) is never backed by another holder that has it whole",
  'quorum-copy-sends-stubs':
    "a quorum copy (catchUpPeer / copyToPeer, dynamoQuorumPeer.copy, copyItems) sends the home's archived stubs in a raw write: the peer's log takes events without their payloads and can never be folded",
  'gap-fetch-reads-stubs':
    "the applier's gap fetch takes the origin's archived stubs as events: an acknowledged event is quarantined as poison (invalid envelope) and the peer holding it whole is never asked",
  'lost-answer-rehome-skipped':
    "Failover's BumpEpochs retries a new home whose write committed but whose answer was lost (or a retried task's first attempt) as a fresh move: it finds the partition active at its new home, skips it and reports it not moved",
  'per-region-seal':
    "Failover's collection counts a survivor sealed only when every one of its seal writes succeeded: one partition's failed seal write (a busy register) blocks every partition that needed that survivor",
  'switchover-no-fence-confirm':
    "Switchover's CheckWatermark takes the source's head without its own copy of the entry carrying the fence (no confirmation, no write-back), and Unfence then gives the new home no lease hold: a write the old home still acknowledges under its lease after the head was read is written again by the new home",
  'refusal-unconfirmed':
    'a core refusal or no-op answer at the home is given on its lease alone, without re-reading its own copy of the entry: after a cooperative Switchover the old home refuses on a state the new home has already written past',
  'probe-rows-after-unfence':
    "Switchover's VerifyProbe, run after a cooperative Unfence, compares the core rows of source and target: the new home's first acknowledged write makes them differ and the finished move is rolled back (RollbackRefused, or moved back to the old home)",
  'switchover-trusts-delivery':
    "Switchover's CheckWatermark takes its direct delivery of the source's core head for done instead of reading the target's logs again: an event the target refused (a slot another branch holds) counts as held and the partition moves without it",
  'switchover-rows-unchecked':
    "Switchover's CheckWatermark reports a partition's core rows the same without comparing them, so VerifyProbe (which trusts it) lets MoveHome move a partition whose rows differ between source and target",
  'move-home-any-entry':
    "Switchover's MoveHome moves the partition over whatever entry it reads, not over the fence its run committed: a partition another run or a Failover took since the fence is moved to the target anyway",
  'dry-run-reads-unconfirmed':
    "the saga dry run's read at the home (RoutedCommandPort.read, local or a forwarded GET) serves the row on the cached lease alone, without re-reading the home's own copy of the entry: after a cooperative Switchover the old home's stale row refuses a transfer (422) the new home's deposit covers",
  'rollback-fences-any-active':
    "a run's fence (Switchover's Fence and Rollback, Failback's switch-back) fences any active entry, not only the one it read: a Rollback racing a newer switchover fences the newer home's entry, compares the old home with the home it read and moves the partition back without the newer home's acknowledged writes",
  'rollback-conflict-left-alone':
    'Rollback answers left-alone ("changed by someone else during the rollback") on any lost compare-and-set of its move back or unfence, without re-reading: an EpochConflictError only says one round missed a majority, a later reader completes this run\'s own proposal and the partition stays fenced by the run while the task succeeds',
  'late-fence-after-rollback':
    "Switchover's Fence (and Failback's switch-back Fence) starts a compare-and-set whenever it gets to it, and a Rollback run without its result (Fence failed or timed out) reads the partitions at once: a Fence invocation that outlives its task fences a partition after the Rollback left it alone, fenced by the run forever",
  'forwarded-notHome-keeps-cache':
    "a region answers a core write a peer forwarded to it on its cached entry alone: cached during a Switchover's fence (the old home named, fenced), it refuses 421 every write the old home re-routes to it after MoveHome made it the home, for up to a lease",
  'switchover-delivery-unsealed':
    "Switchover's CheckWatermark delivers the old home's head into the target without checking the target's own copy of the partition's entry: an invocation that outlives its task puts the old epoch's events into a target a Failover sealed and collected since, forking it from the new home's acknowledged write",
  'failover-seal-drops-run':
    "a Failover's CollectCopies seals the survivors with the committed entry less its run stamp: a replica takes the same proposal again, so the stamp is gone from every survivor's copy; a Switchover's move fence the Failover took as it is (home = the new home) is then no longer the Switchover's to unfence, and once the Failover stops short of BumpEpochs nobody unfences it (a Failover re-run does not plan a partition homed elsewhere)",
  'failover-keeps-switchover-fence':
    "a Failover takes a Switchover's fence of the lost home as its own (same epoch): CollectCopies seals the survivors at the fence's epoch, which the Switchover's direct delivery cannot tell from its own fence, so a CheckWatermark still running puts the lost home's unreplicated head into a survivor after it was sealed and collected, forking it from the new home's acknowledged write",
  'applier-ignores-failover-cut':
    "the replication applier appends a core event without checking the region's Failover cut: a lost home's event that reaches a survivor late (a stream, bus or lane delivery from before the loss) after the Failover cut and collected it is applied on top of the survivor's log, forking it from the new home's acknowledged write at the same seq",
  'home-refuses-cut-events':
    "under core.ack local the new home's applier refuses a cut event like any survivor's, although the Failover collected nothing: the lost home's acknowledged event that a survivor already applied and that reaches the new home late, before its first write to the aggregate, is refused there, so the new home's next write takes that seq and forks the survivor (review-finding-2)",
  'applier-home-check-local-copy':
    "under core.ack local the applier takes a cut event as the home on its own copy of the partition's entry (home it, active) instead of a majority-read lease: a home lost in turn that comes back with a stale copy takes the first lost home's late event, which its successor never had, and the successor's next write at that seq forks it (review-finding-2b, was OPEN FINDING 3)",
  'local-failover-skips-new-home-cut':
    "under core.ack local the Failover writes no cut into the partition's new home: once the partition moves on from it (a Switchover), the lost home's late event still reaching it is applied unchecked, ahead of the next home, whose own event at that seq then forks it (review-finding-2)",
  'home-lease-fenced-refuses':
    "under core.ack local the applier's home lease treats an entry that names this region but is fenced (a contention fence, a Switchover not yet moved or rolled back) like another region's: the cut event is quarantined for good, and once the home is active again its next write at that seq forks a survivor that applied it (review-finding-3)",
  'home-lease-stale-quarantines':
    "under core.ack local the applier takes a StaleEpochError from its home lease's guard (the local copy moved on between the lease's majority read and the append) as 'not the home': a superseded entry still naming this region home, active, quarantines the lost home's cut event for good instead of reading the lease again, and the home's next write at that seq forks a survivor that applied it (review-finding-3 LOW)",
  'new-home-cut-before-unfence':
    "under core.ack local the Failover cuts the partition's new home in CollectCopies, before the unfence names it home: the lost home's late event reaching it in that window is refused by the cut and quarantined for good (the home lease's majority read sees the fence, no home), although a survivor applied it before its cut; the new home's first write takes that seq and forks the survivor (review-finding-3)",
  'gap-fetch-first-origin-only':
    "a parked run's gap is read from its first parked event's origin alone: after a Failover that is the lost home's event parked before the loss, the lost home's copy of the gap is refused by the cut (quarantined) or not answered, and the new home's next event stays parked behind it although the new home's log holds the gap (review-finding-2)",
  'gap-fetch-ignores-voucher':
    "a gap read from its origin's own log is checked against the Failover cut at each event's own epoch, even when the run read is exactly the history of that origin's parked event written past the cut: a lost home made home again (Failback) writes on top of its pre-cut events, and a survivor that lacked one of them parks every new event of the aggregate behind it for good (review-finding-2)",
} as const;

export type BugSwitch = keyof typeof BUG_SWITCHES;

const enabled = new Set<BugSwitch>();

function isBugSwitch(name: string): name is BugSwitch {
  return Object.hasOwn(BUG_SWITCHES, name);
}

/** True when the named bug has been switched back on (tests and the chaos CLI only). */
export function bugEnabled(name: BugSwitch): boolean {
  return enabled.has(name);
}

/** The switches turned on, sorted (passed on to a child process that builds from them, e.g. a synth). */
export function enabledBugs(): BugSwitch[] {
  return [...enabled].sort();
}

/** Turns bugs on by name; an unknown name throws with the list of known ones. */
export function enableBugs(names: readonly string[]): void {
  for (const name of names) {
    if (!isBugSwitch(name)) throw new UnknownBugSwitchError(name, Object.keys(BUG_SWITCHES));
    enabled.add(name);
  }
}

/** Turns every bug off again. */
export function disableAllBugs(): void {
  enabled.clear();
}

/**
 * Runs `fn` with one bug switched on, and off again afterwards.
 * @example await withBug('blind-rollback', () => runScenario());
 */
export async function withBug<T>(name: BugSwitch, fn: () => Promise<T>): Promise<T> {
  const wasOn = enabled.has(name);
  enabled.add(name);
  try {
    return await fn();
  } finally {
    if (!wasOn) enabled.delete(name);
  }
}

/** Parses `MULTIACTIVE_TEST_BUGS` ("a,b") into switch names (validated by enableBugs). */
export function bugsFromList(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
