import type { EventEnvelope } from '../model/envelope.ts';

/** Where a core log's folded part ends: its last seq and that event's HLC (null before the first). */
export interface ChainHead {
  readonly seq: number;
  readonly hlc: string | null;
}

/** Orders the candidates for one seq: higher epoch, then the preferred log's, then more holders, then eventId. */
function better(
  a: { event: EventEnvelope; holders: number },
  b: { event: EventEnvelope; holders: number },
  preferred: ReadonlySet<string>,
): boolean {
  if (a.event.epoch !== b.event.epoch) return a.event.epoch > b.event.epoch;
  const ap = preferred.has(a.event.eventId);
  if (ap !== preferred.has(b.event.eventId)) return ap;
  if (a.holders !== b.holders) return a.holders > b.holders;
  return a.event.eventId < b.event.eventId;
}

/**
 * The run of events that extends `head` furthest through several regions' logs of one core aggregate (what
 * a new home collects, as a Raft leader's log is the most up to date of a majority). At each seq only an
 * event that follows the run so far (`prev` = the run's head) qualifies; of several, the one of the higher
 * epoch wins (a later home wrote it, so the earlier one was never on a majority: had it been, that home
 * would have collected it and never decided that seq again), then the one in `preferred` (the new home's
 * own log), then the more widely held, then the smaller eventId, so every region computes the same run.
 * @example collectedChain({ seq: 9, hlc: h9 }, [homeLog, peerLog]) // [event 10, event 11]
 */
export function collectedChain(
  head: ChainHead,
  logs: ReadonlyArray<readonly EventEnvelope[]>,
  preferred: ReadonlySet<string> = new Set(),
): EventEnvelope[] {
  const bySeq = new Map<number, Map<string, { event: EventEnvelope; holders: number }>>();
  for (const log of logs) {
    for (const event of log) {
      if (event.seq <= head.seq) continue;
      const slot = bySeq.get(event.seq) ?? new Map<string, { event: EventEnvelope; holders: number }>();
      const seen = slot.get(event.eventId);
      slot.set(event.eventId, { event, holders: (seen?.holders ?? 0) + 1 });
      bySeq.set(event.seq, slot);
    }
  }
  const run: EventEnvelope[] = [];
  let at = head;
  for (;;) {
    const candidates = [...(bySeq.get(at.seq + 1)?.values() ?? [])].filter((c) => c.event.prev === at.hlc);
    if (candidates.length === 0) return run;
    const chosen = candidates.reduce((best, c) => (better(c, best, preferred) ? c : best));
    run.push(chosen.event);
    at = { seq: chosen.event.seq, hlc: chosen.event.hlc };
  }
}
