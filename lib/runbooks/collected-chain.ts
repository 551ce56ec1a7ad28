import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';

/** Where a core log's folded part ends: its last seq and that event's HLC (null before the first). */
export interface ChainHead {
  readonly seq: number;
  readonly hlc: string | null;
}

type Candidate = { event: EventEnvelope; holders: number; reach: number };

/**
 * Orders the candidates for one seq: the branch reaching the higher epoch, then the higher epoch, then the
 * preferred log's, then more holders, then eventId.
 */
function better(a: Candidate, b: Candidate, preferred: ReadonlySet<string>): boolean {
  if (bugEnabled('per-seq-epoch-collection') ? false : a.reach !== b.reach) return a.reach > b.reach;
  if (a.event.epoch !== b.event.epoch) return a.event.epoch > b.event.epoch;
  const ap = preferred.has(a.event.eventId);
  if (ap !== preferred.has(b.event.eventId)) return ap;
  if (a.holders !== b.holders) return a.holders > b.holders;
  return a.event.eventId < b.event.eventId;
}

/**
 * Each event's reach: the highest epoch of any event on a branch through it (itself or an event chained on
 * top of it, in any log), computed from the highest seq down.
 */
function reaches(bySeq: ReadonlyMap<number, ReadonlyMap<string, { event: EventEnvelope }>>) {
  const reach = new Map<string, number>();
  // The best reach of the events at seq s + 1 that name a given hlc as `prev`.
  let above = new Map<string, number>();
  for (const seq of [...bySeq.keys()].sort((a, b) => b - a)) {
    const here = new Map<string, number>();
    for (const { event } of bySeq.get(seq)!.values()) {
      const r = Math.max(event.epoch, bySeq.has(seq + 1) ? (above.get(event.hlc) ?? 0) : 0);
      reach.set(event.eventId, r);
      const key = event.prev ?? '';
      here.set(key, Math.max(here.get(key) ?? 0, r));
    }
    above = bySeq.has(seq - 1) ? here : new Map();
  }
  return reach;
}

/**
 * The run of events that extends `head` furthest through several regions' logs of one core aggregate (what
 * a new home collects, as a Raft leader's log is the most up to date of a majority). At each seq only an
 * event that follows the run so far (`prev` = the run's head) qualifies; of several, the one whose branch
 * reaches the higher epoch wins, as Raft compares the last entries' terms (an acknowledged write is on a
 * majority and the newest epoch's home wrote it; a later home's event at the same seq that lost a majority
 * never made it onto one, though its epoch is higher than that of the older events beneath the write:
 * Raft's "Figure 8", bug switch `per-seq-epoch-collection`), then the one of the higher epoch, then the one
 * in `preferred` (the new home's own log), then the more widely held, then the smaller eventId, so every
 * region computes the same run.
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
  const reach = reaches(bySeq);
  const run: EventEnvelope[] = [];
  let at = head;
  for (;;) {
    const candidates = [...(bySeq.get(at.seq + 1)?.values() ?? [])]
      .filter((c) => c.event.prev === at.hlc)
      .map((c) => ({ ...c, reach: reach.get(c.event.eventId) ?? c.event.epoch }));
    if (candidates.length === 0) return run;
    const chosen = candidates.reduce((best, c) => (better(c, best, preferred) ? c : best));
    run.push(chosen.event);
    at = { seq: chosen.event.seq, hlc: chosen.event.hlc };
  }
}
