import { bugEnabled } from '../faults/index.ts';
import type { EventEnvelope } from '../model/envelope.ts';

/** What a core event must extend: the row (or log) it would be folded onto. */
export interface CoreHead {
  /** Last core seq folded (0 before the first event). */
  readonly seq: number;
  /** HLC of the event at `seq`, null before the first event. */
  readonly head: string | null;
}

/**
 * The chain rule of the core log (DESIGN.md invariant 6): an event extends a head when it is the next
 * seq **and** names that head as its `prev`. `prev` is the HLC of the event its writer decided on
 * (`envelopeEvents`: null for seq 1), and HLCs are unique per event (they end in the origin region), so two
 * events at one seq written on two branches never extend each other's successors. A replica folds or
 * appends only an event that extends its head; anything else is kept (parked or quarantined), never joined.
 */
export function extendsHead(head: CoreHead, event: Pick<EventEnvelope, 'seq' | 'prev'>): boolean {
  if (event.seq !== head.seq + 1) return false;
  // The bug switch brings back "any event at row.seq + 1 is folded, whatever branch it came from".
  return bugEnabled('unchained-fold') || event.prev === head.head;
}

/** The head after `event` was folded onto it. */
export function headOf(event: Pick<EventEnvelope, 'seq' | 'hlc'>): CoreHead {
  return { seq: event.seq, head: event.hlc };
}

/**
 * The core events of `logged` (in seq order) that extend `from` one after another: the run a row may fold.
 * It stops at a gap (a quorum-ack copy written ahead of an event that has not arrived) and at an event of
 * another branch (whose `prev` is not the event before it).
 */
export function chainedRun(from: CoreHead, logged: readonly EventEnvelope[]): EventEnvelope[] {
  const run: EventEnvelope[] = [];
  let head = from;
  for (const event of logged) {
    if (event.seq <= head.seq && run.length === 0) continue;
    if (!extendsHead(head, event)) break;
    run.push(event);
    head = headOf(event);
  }
  return run;
}
