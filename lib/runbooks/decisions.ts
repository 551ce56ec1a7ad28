import type { Topology } from '../config/schema.ts';
import { nearestRegions } from '../config/topology.ts';
import { NoEligibleHomeError } from './errors.ts';
import type { RegionObservation } from './ports.ts';

/** One region's vote on whether a region is lost. */
export type LossVote = 'lost' | 'reachable' | 'no-answer';

/** A voter sees the target lost when its health probe fails and its heartbeats went quiet. */
export function voteOn(
  observation: RegionObservation,
  staleHeartbeatMs: number,
): Exclude<LossVote, 'no-answer'> {
  const silent = observation.heartbeatAgeMs === null || observation.heartbeatAgeMs >= staleHeartbeatMs;
  return !observation.reachable && silent ? 'lost' : 'reachable';
}

/** The outcome of ConfirmRegionLost. */
export interface LossConfirmation {
  readonly confirmed: boolean;
  readonly votes: Readonly<Record<string, LossVote>>;
  readonly needed: number;
  readonly reason: string;
}

/**
 * Confirms a loss only when a majority of ALL configured regions (the lost one counts in the total,
 * never as a voter) vote `lost`: a minority that merely lost its link cannot fail over a live region.
 */
export function confirmLoss(
  region: string,
  regions: readonly string[],
  votes: Readonly<Record<string, LossVote>>,
): LossConfirmation {
  const needed = Math.floor(regions.length / 2) + 1;
  const lost = Object.values(votes).filter((v) => v === 'lost').length;
  const confirmed = regions.includes(region) && lost >= needed;
  const summary = Object.entries(votes)
    .map(([voter, vote]) => `${voter}: ${vote}`)
    .join(', ');
  const reason = !regions.includes(region)
    ? `${region} is not a configured region`
    : confirmed
      ? `${lost} of ${regions.length} regions confirm ${region} lost (${summary})`
      : `only ${lost} of the ${needed} votes needed confirm ${region} lost (${summary})`;
  return { confirmed, votes, needed, reason };
}

/** A partition's planned move at failover. */
export interface PlannedMove {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/**
 * New homes for the lost region's partitions: the nearest surviving region to the lost one by the latency
 * table (its users are nearest there too), restricted to the partition's allow-list when it has one
 * (data residency). Pure and deterministic, so a re-run chooses the same homes.
 */
export function chooseNewHomes(input: {
  readonly topology: Topology;
  readonly lost: string;
  readonly partitions: readonly number[];
  readonly survivors: readonly string[];
  readonly allowed?: Readonly<Record<string, readonly string[]>>;
}): PlannedMove[] {
  const ranked = nearestRegions(input.topology, input.lost, [...input.survivors]).filter(
    (r) => r !== input.lost,
  );
  return input.partitions.map((partition) => {
    const allowed = input.allowed?.[String(partition)];
    const to = allowed ? ranked.find((r) => allowed.includes(r)) : ranked[0];
    if (!to) throw new NoEligibleHomeError(partition, allowed ?? ranked);
    return { partition, from: input.lost, to };
  });
}
