import type { Tier, Topology } from '../config/index.ts';
import { failoverStartMs } from '../detection/index.ts';
import { holdMs } from '../ownership/fencing-budget.ts';

/** The timers a region loss goes through; from the topology in AWS, from the sandbox's timing locally. */
export interface RecoveryTimers {
  /** Route 53 health-check interval and failures in a row before DNS withdraws a region. */
  readonly healthIntervalSeconds: number;
  readonly failureThreshold: number;
  /**
   * From the loss to the Failover's start: the regions' watchdogs detect it (failed probes, silent
   * heartbeats) and one claims the failover through the quorum register (lib/detection).
   */
  readonly failoverStartSeconds: number;
  /** Clients following DNS move after the record's TTL. */
  readonly dnsTtlSeconds: number;
  /** Budget for the Failover execution itself. */
  readonly failoverSeconds: number;
  /** The new home's hold after a move: lease + clock-skew margin. */
  readonly holdSeconds: number;
}

/** What the configuration can achieve for one tier, next to what is declared. */
export interface TierProjection {
  readonly tier: Tier;
  readonly declared: { rtoSeconds: number; rpoSeconds: number };
  /** Infinity when recovery waits for an operator (no automatic failover). */
  readonly rtoSeconds: number;
  readonly rpoSeconds: number;
  /** How the figures were reached, for the operator. */
  readonly basis: string;
  readonly met: boolean;
}

/** AWS's timers from the topology (Route 53 health checks, watchdogs, DNS TTL, the fencing hold). */
export function awsTimers(topology: Topology): RecoveryTimers {
  const { healthCheck, ttlSeconds } = topology.gtm;
  const start = failoverStartMs(topology);
  return {
    healthIntervalSeconds: healthCheck.intervalSeconds,
    failureThreshold: healthCheck.failureThreshold,
    failoverStartSeconds: (start.detectionMs + start.decisionMs) / 1000,
    dnsTtlSeconds: ttlSeconds,
    failoverSeconds: 10,
    holdSeconds: holdMs(topology.fencing) / 1000,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Projects each tier's RTO and RPO from the configuration and the replication lag seen now, and compares
 * them with the declared objectives (pure).
 * - RTO: DNS withdrawal (interval x threshold) + DNS TTL; core is the later of that and the Failover's
 *   start (watchdogs) + its execution + the new home's hold, and waits for an operator when
 *   `gtm.autoFailover` is off.
 * - RPO: 0 for core with quorum ack; otherwise what has not replicated at the moment of loss, i.e. the
 *   worst lag now (the degrade threshold when no lag is known).
 * @example projectObjectives(topology, awsTimers(topology), { maxLagMs: 800 })
 */
export function projectObjectives(
  topology: Topology,
  timers: RecoveryTimers,
  observed: { maxLagMs: number | undefined },
): TierProjection[] {
  const detection = timers.healthIntervalSeconds * timers.failureThreshold;
  const lagSeconds = (observed.maxLagMs ?? topology.thresholds.degradeLagMs) / 1000;
  const lagBasis =
    observed.maxLagMs === undefined
      ? `no lag measured: degrade threshold ${lagSeconds} s`
      : `worst replication lag now ${round(lagSeconds)} s`;
  return (['core', 'important', 'ordinary'] as const).map((tier) => {
    const declared = topology.objectives[tier];
    let rto = detection + timers.dnsTtlSeconds;
    let basis = `detection ${detection} s + DNS ${timers.dnsTtlSeconds} s`;
    let rpo = lagSeconds;
    let rpoBasis = lagBasis;
    if (tier === 'core') {
      const server = timers.failoverStartSeconds + timers.failoverSeconds + timers.holdSeconds;
      rto = topology.gtm.autoFailover ? Math.max(rto, server) : Number.POSITIVE_INFINITY;
      basis = topology.gtm.autoFailover
        ? `max(${basis}, watchdogs ${round(timers.failoverStartSeconds)} s + Failover ${timers.failoverSeconds} s + hold ${timers.holdSeconds} s)`
        : 'gtm.autoFailover is off: Failover waits for an operator';
      if (topology.core.ack === 'quorum') {
        rpo = 0;
        rpoBasis = 'core.ack quorum: a write is on a majority before it is acknowledged';
      } else rpoBasis = `core.ack local: ${lagBasis}`;
    }
    return {
      tier,
      declared,
      rtoSeconds: round(rto),
      rpoSeconds: round(rpo),
      basis: `RTO ${basis}; RPO ${rpoBasis}`,
      met: rto <= declared.rtoSeconds && rpo <= declared.rpoSeconds,
    };
  });
}
