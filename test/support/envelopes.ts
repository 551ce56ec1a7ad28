import { ulid } from 'ulid';
import { encodeHlc } from '../../lib/clock/index.ts';
import type { EventEnvelope } from '../../lib/model/index.ts';

let wall = 1_700_000_000_000;

/** A valid envelope with overridable fields, for store and replication tests. */
export function sampleEnvelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const origin = overrides.origin ?? 'us-east-1';
  return {
    eventId: ulid(),
    aggregateType: 'account',
    aggregateId: 'acc-1',
    partition: 7,
    seq: 1,
    type: 'Deposited',
    schemaVersion: 1,
    payload: { amount: 100 },
    origin,
    hlc: encodeHlc({ wall: wall++, logical: 0, region: origin }),
    epoch: 0,
    prev: null,
    vv: {},
    correlationId: 'corr-1',
    causationId: 'cause-1',
    ...overrides,
  };
}
