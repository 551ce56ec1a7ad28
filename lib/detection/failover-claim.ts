/**
 * The claim that decides which watchdog starts the Failover of a lost region: a quorum-register value
 * under `WATCHDOG#<region>`. A compare-and-set commits at most one value per epoch, so when several
 * watchdogs agree at once exactly one of them claims, and only the claimer starts an execution, whose
 * name comes from the claim (Step Functions refuses a second execution of that name).
 */
export interface FailoverClaim {
  /** The region whose watchdog claimed (and starts the Failover in its own region). */
  readonly by: string;
  /** Wall-clock ms of the claim. */
  readonly at: number;
  /** The execution name of the Failover this claim starts. */
  readonly execution: string;
}

/** Register key of a region's failover claim. */
export function failoverClaimKey(region: string): string {
  return `WATCHDOG#${region}`;
}

/** The Failover execution name of a claim at `epoch` (unique per claim; Step Functions allows 80 chars). */
export function failoverExecutionName(lost: string, epoch: number): string {
  return `failover-${lost}-claim-${epoch}`;
}

/** What a watchdog that sees `lost` lost (by a majority) does about the claim it read. */
export type ClaimAction = 'claim' | 'start-own' | 'take-over' | 'none';

/**
 * Pure decision over the current claim: claim when none is held; take over a claim that has not drained
 * the region after `retryMs` (its Failover failed, its claimer died before starting it, or it is the
 * claim of an earlier loss that failback ended: a new claim and a new execution); (re)start our own
 * claimed execution (idempotent: same name, same input); otherwise leave it to its claimer.
 */
export function claimAction(input: {
  readonly current: FailoverClaim | null;
  readonly me: string;
  readonly now: number;
  readonly retryMs: number;
  readonly drained: boolean;
}): ClaimAction {
  const { current } = input;
  if (!current) return 'claim';
  if (!input.drained && input.now - current.at >= input.retryMs) return 'take-over';
  return current.by === input.me ? 'start-own' : 'none';
}
