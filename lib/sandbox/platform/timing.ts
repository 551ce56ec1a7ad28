import { FENCING_DEFAULTS, type FencingBudget } from '../../ownership/fencing-budget.ts';

/** Every timer of the sandbox, so `--fast` can compress them in one place. */
export interface SandboxTiming {
  /** Multiplies WAN delays (1 = real inter-region RTTs). */
  readonly wanTimeScale: number;
  /** Stream poller wait after an empty poll (Lambda: ~250 ms). */
  readonly streamPollMs: number;
  /** Heartbeat / lag-monitor tick. */
  readonly heartbeatIntervalMs: number;
  /**
   * Multiplies the AWS timers the sandbox takes from the templates and the topology, all by the same
   * factor: the Route 53 health checks' interval (their failure threshold is kept), the CloudWatch alarms'
   * periods, and the watchdog's schedule and tick (its failure threshold is kept). 1 = as on AWS.
   */
  readonly awsTimeScale: number;
  /** First retry delay and cap of bus deliveries (EventBridge's backoff curve, compressed). */
  readonly busRetryBaseMs: number;
  readonly busRetryMaxMs: number;
  /**
   * Core-write fencing (lib/ownership/fencing-budget.ts, checked by multiRegionDeps). Lease: how long a
   * home trusts a majority read of its partition entry (renewed in the background past half of the time
   * it serves writes, so a home re-reads the entries it writes steadily about twice per such time). After a failover or switchover the new
   * home writes only from `fence commit + leaseMs + skewMarginMs`: every lease the old home may still hold
   * has run out by then (see PartitionOwnership). That hold is part of the core RTO (kill -> first core
   * write in the new home = detection + Failover up to its fences + leaseMs + skewMarginMs), not of the
   * Failover state machine, which does not wait for it. Shorter leases shorten the hold but cost more
   * quorum reads and fail writes sooner when the control quorum is slow; keep leaseMs well above a quorum
   * round trip (~2 x the largest WAN RTT). A skewed wall clock (the chaos nemesis) must stay within
   * `maxClockOffsetMs`, or the budget no longer covers it.
   */
  readonly fencing: FencingBudget;
  /** Multiplies Wait states of the state machines (1 = as written in the ASL). */
  readonly waitScale: number;
  /**
   * Sagas (topology `sagas`): a Try's hold expires after sagaHoldMs, an idle saga is resumed after
   * sagaResumeAfterMs by the recovery sweep that runs in every region every sagaSweepMs (an EventBridge
   * schedule in AWS), and `?wait=true` waits up to sagaWaitMs.
   */
  readonly sagaHoldMs: number;
  readonly sagaResumeAfterMs: number;
  readonly sagaSweepMs: number;
  readonly sagaWaitMs: number;
}

/** The saga timers of a topology (`sagas`), as the sandbox runs them by default. */
export interface SagaTopologyTimers {
  readonly holdMs: number;
  readonly resumeAfterMs: number;
  readonly sweepIntervalSeconds: number;
  readonly waitMs: number;
}

const AWS_SAGAS: SagaTopologyTimers = {
  holdMs: 60_000,
  resumeAfterMs: 30_000,
  sweepIntervalSeconds: 60,
  waitMs: 5_000,
};

/** AWS's timers: health checks, alarms and watchdog as synthesized, heartbeats every 5 s, real RTTs. */
export function defaultTiming(
  heartbeatIntervalMs: number,
  sagas: SagaTopologyTimers = AWS_SAGAS,
): SandboxTiming {
  return {
    sagaHoldMs: sagas.holdMs,
    sagaResumeAfterMs: sagas.resumeAfterMs,
    sagaSweepMs: sagas.sweepIntervalSeconds * 1_000,
    sagaWaitMs: sagas.waitMs,
    wanTimeScale: 1,
    streamPollMs: 250,
    heartbeatIntervalMs,
    awsTimeScale: 1,
    busRetryBaseMs: 1_000,
    busRetryMaxMs: 60_000,
    fencing: FENCING_DEFAULTS,
    waitScale: 1,
  };
}

/**
 * `--fast`: the same shape of behaviour in a fraction of the time: WAN at 1/4, and every AWS detection
 * timer at 1/10 (Route 53 checks every second, alarm periods of 6 s, watchdog ticks every 500 ms).
 */
export function fastTiming(): SandboxTiming {
  return {
    wanTimeScale: 0.25,
    // Lambda's own poll interval, not compressed: 100 ms made a third of an idle sandbox's DynamoDB
    // requests (GetRecords, 34/s of ~150/s), and the replication it speeds up is not what --fast is for.
    streamPollMs: 250,
    heartbeatIntervalMs: 500,
    awsTimeScale: 0.1,
    busRetryBaseMs: 100,
    busRetryMaxMs: 1_000,
    // Hold after a move: 3.2 s. The lease stays ~9x the slowest real WAN RTT (219 ms), so renewals at
    // half-life (1 s) never race the lease even with wanTimeScale 1 (the runbooks bench). The margin
    // covers a 600 ms append (DynamoDB Local on a busy machine) plus clocks up to 500 ms apart (the
    // chaos clock-skew nemesis' range).
    fencing: {
      leaseMs: 2_000,
      skewMarginMs: 1_200,
      maxClockOffsetMs: 500,
      appendTimeoutMs: 600,
      quorumCopyTimeoutMs: 800,
    },
    waitScale: 0.02,
    // A hold outlives a killed region's failover (detection and the lease hold) and still expires within
    // a chaos fault's window; the sweep looks every second.
    sagaHoldMs: 5_000,
    sagaResumeAfterMs: 2_000,
    sagaSweepMs: 1_000,
    sagaWaitMs: 5_000,
  };
}
