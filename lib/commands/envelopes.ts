import { ulid } from 'ulid';
import { encodeHlc, type HybridLogicalClock } from '../clock/index.ts';
import { incrementVector, type VersionVector, vectorSize } from '../clock/version-vector.ts';
import type { Tier } from '../config/schema.ts';
import type { AnyAggregate, DomainEvent } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { currentEventVersion } from '../model/registry.ts';
import { EPOCH_NO_OP_VERSION, isEpochNoOp } from './epoch-no-op.ts';

export interface EnvelopeContext {
  readonly aggregate: AnyAggregate;
  readonly aggregateId: string;
  readonly partition: number;
  readonly region: string;
  readonly clock: HybridLogicalClock;
  readonly epoch: number;
  /** Last core seq (core) folded into the state the command was decided on. */
  readonly seq: number;
  /** Version vector and head HLC of the state the command was decided on. */
  readonly vv: VersionVector;
  readonly head: string | null;
  readonly correlationId: string;
  readonly causationId: string;
}

/**
 * Wraps the events of one command in envelopes: fresh ULIDs and HLC timestamps, core events numbered
 * after `seq`, other tiers stamped with the version vector of what the writer had seen plus themselves.
 */
export function envelopeEvents(events: readonly DomainEvent[], context: EnvelopeContext): EventEnvelope[] {
  const tier: Tier = context.aggregate.tier;
  let vv = context.vv;
  let prev = context.head;
  return events.map((event, index) => {
    const hlc = encodeHlc(context.clock.now());
    vv = tier === 'core' ? vv : incrementVector(vv, context.region);
    const envelope: EventEnvelope = {
      eventId: ulid(),
      aggregateType: context.aggregate.name,
      aggregateId: context.aggregateId,
      partition: context.partition,
      seq: tier === 'core' ? context.seq + index + 1 : vectorSize(vv),
      type: event.type,
      schemaVersion: isEpochNoOp(event)
        ? EPOCH_NO_OP_VERSION
        : currentEventVersion(context.aggregate, event.type),
      payload: { ...event.payload },
      origin: context.region,
      hlc,
      epoch: context.epoch,
      prev,
      vv,
      correlationId: context.correlationId,
      causationId: context.causationId,
    };
    prev = hlc;
    return envelope;
  });
}
