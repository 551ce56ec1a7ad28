import { signedDetail } from '../auth/event-signature.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { BusEntry } from './ports.ts';

/** EventBridge `source` of replication events (the CDK rules match it). */
export const REPLICATION_SOURCE = 'multiactive.replication';
/** EventBridge `source` of local-only conflict notifications (matched by no replication rule). */
export const CONFLICT_SOURCE = 'multiactive.conflict';
/** PutEvents accepts at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;
/** Largest PutEvents entry EventBridge accepts since January 2026 (it was 256 KiB before). */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

/**
 * An entry's size as EventBridge computes it: Time counts 14 bytes if set, plus the UTF-8 bytes of
 * Source, DetailType, Detail and each Resources entry.
 */
export function entrySize(entry: BusEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  const resources = (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0);
  return (
    (entry.Time ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + resources
  );
}

/**
 * The replication entry of an envelope: detail-type is the event type, detail the envelope as JSON,
 * signed with the environment's internal key when one is given (appliers with the key refuse others).
 */
export function toBusEntry(
  envelope: EventEnvelope,
  eventBusName?: string,
  signingKey?: Uint8Array,
): BusEntry {
  return {
    Source: REPLICATION_SOURCE,
    DetailType: envelope.type,
    Detail: JSON.stringify(signingKey ? signedDetail(envelope, signingKey) : envelope),
    ...(eventBusName ? { EventBusName: eventBusName } : {}),
  };
}

/**
 * Splits entries into PutEvents calls of at most `maxEntries` entries and `maxBytes` total entry size
 * (each entry is assumed to fit on its own).
 */
export function chunkEntries<T extends { entry: BusEntry }>(
  items: readonly T[],
  limits: { maxEntries?: number; maxBytes: number },
): T[][] {
  const maxEntries = limits.maxEntries ?? MAX_ENTRIES_PER_CALL;
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = entrySize(item.entry);
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
