/**
 * The lease / skew / timeout budget of core-write fencing, in one place: the numbers, the arithmetic that
 * makes one writer per partition hold, and the check that a configuration keeps it.
 *
 * The argument (PartitionOwnership, partition-map.ts, execute.ts):
 * - A home writes only under a LEASE: a majority read of its entry that STARTED at t0 (monotonic). A
 *   majority read started after a fence committed sees the fence, so every lease on the old entry ends
 *   before `fenceCommit + leaseMs`.
 * - Right before the append the write checks its lease again: it appends only while `now < t0 + leaseMs`,
 *   else it aborts with a retryable 503 (LeaseExpiredError). The append itself is bounded by the SDK:
 *   it is aborted after `appendTimeoutMs`, so an ACKNOWLEDGED append committed before
 *   `t0 + leaseMs + appendTimeoutMs < fenceCommit + leaseMs + appendTimeoutMs`.
 * - The unfence (proposed after the fence committed, by a runbook whose wall clock may be off by up to
 *   `maxClockOffsetMs` from the new home's) sets `activeFrom = unfence + leaseMs + skewMarginMs`; the new
 *   home writes once ITS wall clock reaches it, i.e. in true time after
 *   `fenceCommit + leaseMs + skewMarginMs - maxClockOffsetMs`.
 * So the old home's last acknowledged write precedes the new home's first as long as
 *   appendTimeoutMs + maxClockOffsetMs < skewMarginMs                       (safety)
 * and a write that starts on a fresh lease can finish inside it (else it would always be refused):
 *   quorumCopyTimeoutMs + appendTimeoutMs < leaseMs                         (liveness)
 * Monotonic clocks are assumed to run at the rate of true time (drift is far below these margins).
 * What the budget cannot bound: an append whose SDK call was aborted may still commit later on the server;
 * its client got a 503 (outcome unknown), so no acknowledged write is involved, and the event is an orphan
 * of the old epoch that failback and repair treat as such.
 */
export interface FencingBudget {
  /** How long a home trusts a majority read of its partition entry. */
  readonly leaseMs: number;
  /** Hold after an unfence beyond the lease: covers clock offset plus an append in flight. */
  readonly skewMarginMs: number;
  /** Largest wall-clock offset between any two regions' clocks (API and runbook functions). */
  readonly maxClockOffsetMs: number;
  /** SDK bound on one core append (aborted after it: 503, outcome unknown). */
  readonly appendTimeoutMs: number;
  /** Bound on the quorum-ack copy to the peers, however many are tried. */
  readonly quorumCopyTimeoutMs: number;
}

/** Production defaults: 5 s lease, 2 s margin = 1 s append + 0.5 s clock offset + 0.5 s spare. */
export const FENCING_DEFAULTS: FencingBudget = {
  leaseMs: 5_000,
  skewMarginMs: 2_000,
  maxClockOffsetMs: 500,
  appendTimeoutMs: 1_000,
  quorumCopyTimeoutMs: 1_500,
};

/** One broken rule of a budget, named by the field to change. */
export interface FencingBudgetIssue {
  readonly field: keyof FencingBudget;
  readonly message: string;
}

/** What is wrong with a budget (empty when it keeps one writer per partition and lets writes finish). */
export function fencingBudgetIssues(budget: FencingBudget): FencingBudgetIssue[] {
  const issues: FencingBudgetIssue[] = [];
  for (const [field, value] of Object.entries(budget) as Array<[keyof FencingBudget, number]>) {
    const least = field === 'maxClockOffsetMs' ? 0 : 1;
    if (!Number.isFinite(value) || value < least)
      issues.push({ field, message: `must be a number >= ${least} (ms)` });
  }
  if (issues.length > 0) return issues;
  const { leaseMs, skewMarginMs, maxClockOffsetMs, appendTimeoutMs, quorumCopyTimeoutMs } = budget;
  if (appendTimeoutMs + maxClockOffsetMs >= skewMarginMs)
    issues.push({
      field: 'skewMarginMs',
      message: `must exceed appendTimeoutMs + maxClockOffsetMs (${appendTimeoutMs} + ${maxClockOffsetMs}): an old home's last acknowledged append could land after the new home's first`,
    });
  if (quorumCopyTimeoutMs + appendTimeoutMs >= leaseMs)
    issues.push({
      field: 'leaseMs',
      message: `must exceed quorumCopyTimeoutMs + appendTimeoutMs (${quorumCopyTimeoutMs} + ${appendTimeoutMs}): a write could never finish inside its lease`,
    });
  return issues;
}

/** How long an unfenced partition stays unwritable (`activeFrom = unfence + holdMs`). */
export function holdMs(budget: Pick<FencingBudget, 'leaseMs' | 'skewMarginMs'>): number {
  return budget.leaseMs + budget.skewMarginMs;
}

/**
 * The latest true time at which the old home's last acknowledged append may commit, and the earliest at
 * which the new home may write, for a fence committed at `fenceAt` and unfenced at `unfenceAt` (true
 * time), a new home whose clock runs `newHomeOffsetMs` ahead of the unfencer's. Pure; the property test
 * checks `lastOldCommit < firstNewWrite` over every budget `fencingBudgetIssues` accepts.
 */
export function writeWindows(
  budget: FencingBudget,
  timeline: { readonly fenceAt: number; readonly unfenceAt: number; readonly newHomeOffsetMs: number },
): { readonly lastOldCommit: number; readonly firstNewWrite: number } {
  return {
    lastOldCommit: timeline.fenceAt + budget.leaseMs + budget.appendTimeoutMs,
    firstNewWrite: timeline.unfenceAt + holdMs(budget) - timeline.newHomeOffsetMs,
  };
}

/**
 * Socket timeouts for the SDK clients a core write uses (`requestHandler` of a DynamoDB client): no call
 * on the write path waits on a silent connection longer than an append may take.
 * @example new DynamoDBClient({ requestHandler: writePathRequestHandler(topology.fencing) })
 */
export function writePathRequestHandler(budget: Pick<FencingBudget, 'appendTimeoutMs'>): {
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
} {
  return { connectionTimeout: budget.appendTimeoutMs, requestTimeout: budget.appendTimeoutMs };
}
