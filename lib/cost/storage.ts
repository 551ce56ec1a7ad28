import type { Tier } from '../config/index.ts';
import type { RegionFlow } from './flows.ts';
import type { TrafficProfile } from './profile.ts';
import { SECONDS_PER_MONTH } from './usage-types.ts';

/** DynamoDB adds this much to every stored item (and index entry) for storage billing. */
export const ITEM_OVERHEAD_BYTES = 100;
/** Idempotency records live 24 hours (lib/api/commands.ts expiresAfterSeconds). */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** Stored bytes per region and table kind, and the events held per tier. */
export interface RegionStorage {
  readonly region: string;
  /** Bytes of the events table, its byPartition index, the state and idempotency tables. */
  readonly events: number;
  readonly eventsIndex: number;
  readonly state: number;
  readonly idempotency: number;
  /** Aggregates (projection rows) held. */
  readonly aggregates: number;
  /** Events held per aggregate type (every region holds every event), with the type's tier. */
  readonly eventsByType: Readonly<Record<string, { readonly tier: Tier; readonly events: number }>>;
}

/**
 * What every region stores after `historyMonths` of the profile: every region holds every event (the
 * events table is never trimmed), one projection row per aggregate, a day of idempotency records.
 */
export function regionStorage(flows: readonly RegionFlow[], profile: TrafficProfile): RegionStorage[] {
  const seconds = SECONDS_PER_MONTH * profile.historyMonths;
  const eventsByType: Record<string, { tier: Tier; events: number }> = {};
  let eventBytes = 0;
  let stateBytes = 0;
  let aggregates = 0;
  for (const flow of flows) {
    for (const t of flow.types) {
      const events = t.eventsOriginated * seconds;
      const held = eventsByType[t.type] ?? { tier: t.tier, events: 0 };
      eventsByType[t.type] = { ...held, events: held.events + events };
      eventBytes += events * (t.traffic.eventBytes + ITEM_OVERHEAD_BYTES);
      // Every saga is a new aggregate of its type (its row stays once it has ended).
      const created = (t.writesExecuted * profile.newAggregateShare + t.saga.begun) * seconds;
      aggregates += created;
      stateBytes += created * (t.traffic.stateBytes + ITEM_OVERHEAD_BYTES);
    }
  }
  return flows.map((flow) => ({
    region: flow.region,
    events: eventBytes,
    eventsIndex: eventBytes,
    state: stateBytes,
    aggregates,
    idempotency: flow.types.reduce(
      (s, t) => s + t.idempotent * IDEMPOTENCY_TTL_SECONDS * (1024 + ITEM_OVERHEAD_BYTES),
      0,
    ),
    eventsByType,
  }));
}
