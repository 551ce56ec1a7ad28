import { decodeHlc } from '../clock/hlc.ts';
import type { Topology } from '../config/schema.ts';

const DAY_MS = 86_400_000;

/**
 * The retention horizon of a type at `now` (epoch ms): events logged before it may leave the hot table, and
 * Repair leaves them out of its comparison. Whole UTC days, so every region that computes it on the same day
 * gets the same horizon whichever of its events it has archived.
 */
export function retentionHorizon(now: number, retentionDays: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS - retentionDays * DAY_MS;
}

/**
 * For the topology's types with a retention: whether an event (its type and HLC) lies before its type's
 * horizon now. Undefined when no type has a retention (nothing is ever left out).
 * @example const past = pastRetention(topology, Date.now); past?.('account', event.hlc)
 */
export function pastRetention(
  topology: Pick<Topology, 'aggregates'>,
  now: () => number,
): ((aggregateType: string, hlc: string) => boolean) | undefined {
  const days = new Map<string, number>();
  for (const configured of topology.aggregates) {
    const retention = configured.lifecycle?.retentionDays;
    if (retention !== undefined) days.set(configured.type, retention);
  }
  if (days.size === 0) return undefined;
  return (aggregateType, hlc) => {
    const retention = days.get(aggregateType);
    return retention !== undefined && decodeHlc(hlc).wall < retentionHorizon(now(), retention);
  };
}
