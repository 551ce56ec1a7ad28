import type { HybridLogicalClock } from '../clock/clock.ts';
import { ClockDriftError, decodeHlc } from '../clock/hlc.ts';
import { epochNoOpPayloadSchema, isEpochNoOp } from '../commands/epoch-no-op.ts';
import { conflictResolvedPayloadSchema, isConflictResolved } from '../conflict/platform-events.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import { jsonBytes } from '../model/canonical-json.ts';
import { type EventEnvelope, eventEnvelopeSchema } from '../model/envelope.ts';
import {
  PayloadValidationError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from '../model/errors.ts';
import { inspectJson } from '../model/identifiers.ts';
import { type AggregateRegistry, upcastEvent } from '../model/registry.ts';
import { PoisonEventError, POISON_REASONS as R } from './errors.ts';
import { isHeartbeat } from './heartbeat.ts';

/** An incoming event that passed every check. */
export type ValidatedEvent =
  | { readonly kind: 'heartbeat'; readonly envelope: EventEnvelope }
  | { readonly kind: 'event'; readonly envelope: EventEnvelope; readonly aggregate: AnyAggregate };

export interface ValidationContext {
  readonly region: string;
  readonly registry: AggregateRegistry;
  readonly clock: HybridLogicalClock;
  readonly maxEventBytes: number;
  /**
   * `refuse` (the replication path): an event claiming this region as origin is forged. `accept`: Repair
   * putting a region's own events back after a point-in-time restore (they survive only in its peers);
   * the HLC must still have been issued by the origin region.
   */
  readonly ownOrigin?: 'refuse' | 'accept';
}

function parseEnvelope(raw: unknown): EventEnvelope {
  // The Lambda runtime parses the event with JSON.parse, which keeps `__proto__` as an own key.
  const shape = inspectJson(raw);
  if (shape.tooDeep || shape.forbiddenKeys.length > 0) {
    const why = shape.tooDeep ? 'nests too deeply' : `carries ${shape.forbiddenKeys.join(', ')}`;
    throw new PoisonEventError(R.forbiddenKey, `event ${why}`, { paths: shape.forbiddenKeys });
  }
  const parsed = eventEnvelopeSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new PoisonEventError(R.invalidEnvelope, issues.join('; '), { issues });
}

function checkOrigin(envelope: EventEnvelope, region: string, ownOrigin: 'refuse' | 'accept'): void {
  if (envelope.origin === region && ownOrigin === 'refuse') {
    throw new PoisonEventError(R.forgedOrigin, `event claims to originate in this region (${region})`, {
      origin: envelope.origin,
    });
  }
  const stamped = decodeHlc(envelope.hlc).region;
  if (stamped !== envelope.origin) {
    throw new PoisonEventError(
      R.forgedOrigin,
      `HLC was issued by ${stamped}, origin says ${envelope.origin}`,
      {
        origin: envelope.origin,
        hlcRegion: stamped,
      },
    );
  }
}

/** Upcasts and validates the payload so that nothing the fold would choke on ever enters the log. */
function checkPayload(aggregate: AnyAggregate, envelope: EventEnvelope): void {
  try {
    const platform = isConflictResolved(envelope)
      ? { tier: 'important', schema: conflictResolvedPayloadSchema }
      : isEpochNoOp(envelope)
        ? { tier: 'core', schema: epochNoOpPayloadSchema }
        : undefined;
    if (platform) {
      if (aggregate.tier !== platform.tier) throw new UnknownEventTypeError(aggregate.name, envelope.type);
      const parsed = platform.schema.safeParse(envelope.payload);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new PayloadValidationError(`${envelope.type} event`, issues);
      }
      return;
    }
    upcastEvent(aggregate, envelope);
  } catch (error) {
    if (error instanceof UnknownEventTypeError) throw poison(R.unknownEventType, error);
    if (error instanceof UnsupportedSchemaVersionError) throw poison(R.unsupportedSchemaVersion, error);
    if (error instanceof PayloadValidationError) throw poison(R.invalidPayload, error);
    throw error;
  }
}

function poison(reason: (typeof R)[keyof typeof R], error: Error): PoisonEventError {
  return new PoisonEventError(reason, error.message, {}, { cause: error });
}

/** Merges the event's HLC into the local clock; an HLC too far ahead is poison, not a retry. */
function receiveHlc(clock: HybridLogicalClock, envelope: EventEnvelope): void {
  try {
    clock.receive(decodeHlc(envelope.hlc));
  } catch (error) {
    if (error instanceof ClockDriftError) {
      throw new PoisonEventError(
        R.clockDrift,
        error.message,
        { localWall: error.localWall },
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Checks an incoming replicated event the way the applier must before touching the store: envelope
 * schema, origin (an event claiming to come from here is forged), aggregate and event type, schema
 * version and payload, size, clock drift. Anything wrong throws `PoisonEventError` with its reason.
 */
export function validateIncoming(raw: unknown, context: ValidationContext): ValidatedEvent {
  const envelope = parseEnvelope(raw);
  checkOrigin(envelope, context.region, context.ownOrigin ?? 'refuse');
  if (isHeartbeat(envelope)) return { kind: 'heartbeat', envelope };
  if (!context.registry.has(envelope.aggregateType)) {
    throw new PoisonEventError(R.unknownAggregateType, `unknown aggregate type "${envelope.aggregateType}"`, {
      known: context.registry.types(),
    });
  }
  const aggregate = context.registry.get(envelope.aggregateType);
  checkPayload(aggregate, envelope);
  const bytes = jsonBytes(envelope);
  if (bytes > context.maxEventBytes) {
    throw new PoisonEventError(R.eventTooLarge, `${bytes} bytes exceeds ${context.maxEventBytes}`, { bytes });
  }
  receiveHlc(context.clock, envelope);
  return { kind: 'event', envelope, aggregate };
}
