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
  'lane-runs-by-count':
    "the ordinary lane cuts runs of an aggregate by event count only: large events pass TransactWriteItems' 4 MB and the run is refused on every delivery",
  'lane-validation-transient':
    "the ordinary lane takes a ValidationException of a run's transaction for transient: the same records fail on every delivery, to the dead letters",
  'lane-same-key-run':
    'the ordinary lane writes two events claiming one key in one transaction (DynamoDB refuses it: multiple operations on one item)',
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
