import type { Topology } from '../config/schema.ts';
import { latencyBetween, regionNames } from '../config/topology.ts';
import { holdMs } from '../ownership/fencing-budget.ts';
import { type WatchdogSettings, watchdogSettings } from './settings.ts';

/**
 * AWS figures the projection assumes, each with where it comes from. They are the parts of the chain
 * the sandbox cannot measure for AWS (service overheads); everything else is the topology's
 * configuration or a measurement.
 */
export const AWS_ASSUMPTIONS = {
  /** Route 53 HTTPS checks wait up to 4 s for the connection (Route 53 developer guide). */
  route53CheckTimeoutMs: 4_000,
  /** One Step Functions state transition plus a warm Lambda invocation. */
  perTaskOverheadMs: 100,
  /** A cold start of the runbook function (1 GB, Node.js 22, ESM bundle with the SDK). */
  runbookColdStartMs: 1_500,
  /** StartExecution of the Failover in the watchdog's own region. */
  startExecutionMs: 100,
  /** Tasks of the Failover runbook (ConfirmRegionLost ... RecordWatermarks). */
  failoverTasks: 5,
} as const;

/** One term of the chain. */
export interface ChainTerm {
  readonly term: string;
  readonly ms: number;
  readonly how: string;
}

/** The projected RTO of a region loss on AWS, from the synthesized timings and a measured Failover. */
export interface RtoProjection {
  readonly terms: readonly ChainTerm[];
  /** Watchdog detection + decision + Failover execution + the new home's lease/skew hold. */
  readonly serverPathMs: number;
  /** Route 53 withdrawing the lost region + the DNS TTL clients may still hold its address for. */
  readonly dnsPathMs: number;
  /** The serial bound: detection + decision + state machine + lease/skew hold + DNS TTL. */
  readonly serialBoundMs: number;
  /** Core: the later of the two paths plus the forwarded write to the new home; at least the bound. */
  readonly coreRtoMs: number;
  /** Important and ordinary: every survivor may write them, so clients wait for DNS only. */
  readonly anyRegionRtoMs: number;
}

/** The largest round trip between two regions of the topology (its latency table is one-way). */
function maxRttMs(topology: Topology): number {
  const names = regionNames(topology);
  let max = 0;
  for (const a of names)
    for (const b of names) if (a !== b) max = Math.max(max, 2 * latencyBetween(topology, a, b));
  return max;
}

/**
 * From the loss of a region to the start of its Failover: the watchdogs' detection (failed probes or
 * silent heartbeats, whichever is later, worst case) and the decision (reading the other survivors'
 * observations, the quorum claim, StartExecution).
 */
export function failoverStartMs(
  topology: Topology,
  settings: WatchdogSettings = watchdogSettings(topology),
): { readonly detectionMs: number; readonly decisionMs: number } {
  const rtt = maxRttMs(topology);
  const probes = settings.failureThreshold * settings.intervalMs + settings.probeTimeoutMs;
  const silence = settings.staleHeartbeatMs + settings.intervalMs;
  // Read the other survivors' observations (one round trip), then the claim: a quorum read and a
  // compare-and-set (a round trip to a majority each), then StartExecution in the region.
  return {
    detectionMs: Math.max(probes, silence),
    decisionMs: rtt + 2 * rtt + AWS_ASSUMPTIONS.startExecutionMs,
  };
}

/**
 * Projects the region-loss RTO on AWS from the same chain the sandbox runs, at the synthesized timings
 * (Route 53 checks, DNS TTL, watchdog schedule and thresholds, heartbeat period, the fencing budget's
 * lease and skew margin)
 * and the Failover execution measured in the sandbox with real inter-region latencies, plus the service
 * overheads of AWS_ASSUMPTIONS. Worst cases throughout: the loss happens just after a successful probe
 * and just after a heartbeat was applied.
 * @example const p = projectRegionLossRto({ topology, failoverExecutionMs: 1_100 }); p.coreRtoMs
 */
export function projectRegionLossRto(input: {
  readonly topology: Topology;
  readonly failoverExecutionMs: number;
}): RtoProjection {
  const { topology } = input;
  const a = AWS_ASSUMPTIONS;
  const w = watchdogSettings(topology);
  const rtt = maxRttMs(topology);
  const { detectionMs: detection, decisionMs: decision } = failoverStartMs(topology, w);
  // The sandbox's ConfirmRegionLost gets an instant refusal from a killed region; on AWS the probe of a
  // lost region may wait its whole timeout.
  const machine =
    input.failoverExecutionMs +
    w.probeTimeoutMs +
    a.failoverTasks * a.perTaskOverheadMs +
    a.runbookColdStartMs;
  const hold = holdMs(topology.fencing);
  const { healthCheck } = topology.gtm;
  const withdrawal =
    healthCheck.failureThreshold * healthCheck.intervalSeconds * 1_000 + a.route53CheckTimeoutMs;
  const ttl = topology.gtm.ttlSeconds * 1_000;
  const terms: ChainTerm[] = [
    {
      term: 'watchdog detection',
      ms: detection,
      how: `max(${w.failureThreshold} failed probes ${w.intervalMs} ms apart + ${w.probeTimeoutMs} ms timeout, heartbeats silent ${w.staleHeartbeatMs} ms + one tick)`,
    },
    {
      term: 'decision (observations, quorum claim, StartExecution)',
      ms: decision,
      how: `3 round trips of ${rtt} ms + ${a.startExecutionMs} ms`,
    },
    {
      term: 'Failover state machine',
      ms: machine,
      how: `${input.failoverExecutionMs} ms measured in the sandbox + ${w.probeTimeoutMs} ms probe timeout + ${a.failoverTasks} x ${a.perTaskOverheadMs} ms task overhead + ${a.runbookColdStartMs} ms cold start`,
    },
    {
      term: 'lease + skew hold of the new home',
      ms: hold,
      how: `fencing lease ${topology.fencing.leaseMs} ms + skew margin ${topology.fencing.skewMarginMs} ms`,
    },
    {
      term: 'Route 53 withdraws the region',
      ms: withdrawal,
      how: `${healthCheck.failureThreshold} checks ${healthCheck.intervalSeconds} s apart + ${a.route53CheckTimeoutMs} ms check timeout`,
    },
    { term: 'DNS TTL', ms: ttl, how: `gtm.ttlSeconds = ${topology.gtm.ttlSeconds}` },
  ];
  const serverPathMs = detection + decision + machine + hold;
  const dnsPathMs = withdrawal + ttl;
  const serialBoundMs = detection + decision + machine + hold + ttl;
  return {
    terms,
    serverPathMs,
    dnsPathMs,
    serialBoundMs,
    coreRtoMs: Math.max(Math.max(serverPathMs, dnsPathMs) + rtt, serialBoundMs),
    anyRegionRtoMs: dnsPathMs,
  };
}
