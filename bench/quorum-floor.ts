/** The physical floor of a quorum-acknowledged core write (pure: the quorum bench and its test use it). */
import { peersNeeded } from '../lib/commands/quorum-ack.ts';
import { latencyBetween, peersOf, type Topology } from '../lib/config/index.ts';

/**
 * The round trip from `home` to the nearest majority: the home plus `peersNeeded` peers, so the RTT to the
 * `peersNeeded`-th nearest peer (twice the one-way latency of the topology's table).
 */
export function nearestMajorityRttMs(topology: Topology, home: string): number {
  const needed = peersNeeded(topology.regions.length);
  if (needed === 0) return 0;
  const oneWay = peersOf(topology, home)
    .map((peer) => latencyBetween(topology, home, peer))
    .sort((a, b) => a - b);
  return 2 * oneWay[needed - 1]!;
}

/** (quorum − local) ÷ RTT; NaN when either is missing or there is no RTT. */
export function ackRatio(quorumMs: number, localMs: number, rttMs: number): number {
  return rttMs > 0 ? (quorumMs - localMs) / rttMs : Number.NaN;
}
