import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';

/**
 * What events already in the home's chain are acknowledged through (Raft's "Figure 8"). Events of the
 * home's own epoch: themselves. Ones of an earlier epoch (an old home's 503'd write this home's chain
 * kept): copies of them on a majority do not make them survive, since a Failover's collection prefers a
 * branch reaching a higher epoch (a home between the two may have written another event at their seq that
 * no region reachable now holds); they are acknowledged only through a write of this epoch on top of them,
 * copied with them: the run from them to the chain's head when that head is of the home's epoch, else null
 * (nothing of this epoch on top yet). Bug switch `old-epoch-landed-ack`: the earlier epoch's events are
 * acknowledged by their copies alone.
 */
export function committedThrough(
  log: readonly EventEnvelope[],
  events: readonly EventEnvelope[],
  writer: { readonly epoch: number } | undefined,
): readonly EventEnvelope[] | null {
  const last = events[events.length - 1]!;
  if (!writer || last.epoch >= writer.epoch || bugEnabled('old-epoch-landed-ack')) return events;
  const head = log[log.length - 1]!;
  if (head.epoch !== writer.epoch) return null;
  return log.slice(log.indexOf(events[0]!));
}
