import { signedDetail } from '../auth/event-signature.ts';
import type { Tier } from '../config/schema.ts';
import { bugEnabled } from '../faults/index.ts';
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
 * What an ordinary event's detail-type starts with: the publisher stamps the tier its region gives the
 * type, and the receiving region's rules route on the stamp (the lane takes it, the real-time rule takes
 * the rest), never on lists of types that a deploy updates one rule at a time (README "Ordinary lane").
 */
export const LANE_DETAIL_TYPE_PREFIX = 'ordinary:';

/** The longest detail-type stamped: an event type is at most 128 characters (the envelope's schema). */
const MAX_DETAIL_TYPE = 128;

/**
 * The detail-type of an event's entry: its type, stamped with LANE_DETAIL_TYPE_PREFIX when ordinary (unless
 * the stamp would make it longer than an event type may be: that event takes the real-time path, applied all
 * the same).
 */
export function detailTypeOf(envelope: Pick<EventEnvelope, 'type'>, tier: Tier | undefined): string {
  const stamped = `${LANE_DETAIL_TYPE_PREFIX}${envelope.type}`;
  return tier === 'ordinary' && !bugEnabled('lane-routes-by-type-list') && stamped.length <= MAX_DETAIL_TYPE
    ? stamped
    : envelope.type;
}

/**
 * The replication entry of an envelope: detail-type is the event type (stamped when `tier` is ordinary,
 * see detailTypeOf), detail the envelope as JSON, signed with the environment's internal key when one is
 * given (appliers with the key refuse others).
 */
export function toBusEntry(
  envelope: EventEnvelope,
  eventBusName?: string,
  signingKey?: Uint8Array,
  tier?: Tier,
): BusEntry {
  return {
    Source: REPLICATION_SOURCE,
    DetailType: detailTypeOf(envelope, tier),
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
