import type { EventEnvelope } from '../model/envelope.ts';

/**
 * Attribute of an events-table item whose payload moved to the archive (lib/lifecycle's archiver): the item
 * stays in its slot with every envelope field but `payload` (eventId, seq, hlc, prev, epoch, ...), so the
 * slot stays taken (no second event is ever appended at an archived seq), the log still chains (each
 * stub names its predecessor) and Merkle leaves still list the event by its id.
 */
export const ARCHIVED_ATTRIBUTE = 'archived';

/** True for an archived stub read from the log (its payload is in the archive, not here). */
export function isArchivedStub(event: object): boolean {
  return (event as { readonly archived?: unknown }).archived === true;
}

/** The highest seq of an archived stub in a core log (seq order), 0 when it holds none. */
export function archivedThrough(log: readonly Pick<EventEnvelope, 'seq'>[]): number {
  let through = 0;
  for (const event of log) if (isArchivedStub(event) && event.seq > through) through = event.seq;
  return through;
}

/**
 * Whether a core log cannot be folded from seq 1 as it is: it holds archived stubs, or its oldest events
 * left it altogether (a log archived before stubs existed). Such a log folds from a snapshot above the
 * stubs, or from the archive, never from the empty row.
 */
export function needsBase(log: readonly Pick<EventEnvelope, 'seq'>[]): boolean {
  const first = log[0];
  return first !== undefined && (first.seq !== 1 || archivedThrough(log) > 0);
}
