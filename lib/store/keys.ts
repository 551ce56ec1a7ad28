import type { Tier } from '../config/schema.ts';
import type { EventEnvelope } from '../model/envelope.ts';

/** Partition key of an aggregate in the events and state tables. */
export function aggregateKey(aggregateType: string, aggregateId: string): string {
  return `${aggregateType}#${aggregateId}`;
}

/** Core events sort by sequence (one writer); important/ordinary by HLC, whose encoding ends in the origin. */
export function eventSortKey(tier: Tier, event: Pick<EventEnvelope, 'seq' | 'hlc'>): string {
  return tier === 'core' ? `SEQ#${String(event.seq).padStart(12, '0')}` : `HLC#${event.hlc}`;
}

/** Partition key of the events-by-partition index (Merkle repair). */
export function partitionIndexKey(partition: number): string {
  return `P#${partition}`;
}

/** Key attributes stored beside the envelope fields. */
export const KEY_ATTRIBUTES = ['pk', 'sk', 'ppk'] as const;
