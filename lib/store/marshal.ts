import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Tier } from '../config/schema.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from './archived-stub.ts';
import { aggregateKey, eventSortKey, KEY_ATTRIBUTES, partitionIndexKey } from './keys.ts';

/** The events-table item for an envelope: the envelope's fields plus the key attributes. */
export function toEventItem(tier: Tier, event: EventEnvelope): Record<string, unknown> {
  return {
    pk: aggregateKey(event.aggregateType, event.aggregateId),
    sk: eventSortKey(tier, event),
    ppk: partitionIndexKey(event.partition),
    ...event,
  };
}

/** The envelope stored in an events-table item (document form), without the key attributes. */
export function fromEventItem(item: Record<string, unknown>): EventEnvelope {
  const envelope: Record<string, unknown> = { ...item };
  for (const key of KEY_ATTRIBUTES) delete envelope[key];
  // An archived stub has no payload (it is in the archive): an empty one, never folded (foldRecord refuses
  // a stub), keeps readers that look into payloads (heartbeats, epoch no-ops) from crashing on it.
  if (isArchivedStub(envelope) && envelope.payload === undefined) envelope.payload = {};
  return envelope as EventEnvelope;
}

/** Same as `fromEventItem` for a raw AttributeValue map (stream images, ALL_OLD return values). */
export function fromRawEventItem(item: Record<string, AttributeValue>): EventEnvelope {
  return fromEventItem(unmarshall(item));
}
