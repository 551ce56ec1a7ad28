import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ulid } from 'ulid';
import type { HybridLogicalClock } from '../clock/clock.ts';
import { decodeHlc, encodeHlc } from '../clock/hlc.ts';
import { incrementVector, vectorSize } from '../clock/version-vector.ts';
import type { Topology } from '../config/schema.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { partitionOf } from '../ownership/partition.ts';
import { appendWithState } from '../store/append-with-state.ts';
import { StateVersionConflictError } from '../store/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { vectorOf } from './causality.ts';
import { NothingToResolveError, ResolutionContentionError, StaleResolutionError } from './errors.ts';
import { materialize } from './materialize.ts';
import { CONFLICT_RESOLVED, CONFLICT_RESOLVED_VERSION } from './platform-events.ts';
import { policyFor } from './policy.ts';
import { type ConflictNotifier, reconcileConflicts } from './reconcile.ts';
import type { ConflictRecordPort } from './record-store.ts';

export interface ResolveConflictDeps {
  readonly registry: AggregateRegistry;
  readonly topology?: Topology;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly records: ConflictRecordPort;
  readonly notifier?: ConflictNotifier;
  readonly clock: HybridLogicalClock;
  readonly region: string;
  readonly partitions: number;
  readonly maxAttempts?: number;
}

export interface ResolveConflictRequest {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The state the operator chose; it replaces the frozen state. */
  readonly state: unknown;
  /** eventIds of the heads the operator reviewed; refused if the heads have changed since. */
  readonly expectedHeads?: readonly string[];
  readonly correlationId?: string;
}

/**
 * Appends a `ConflictResolved` event locally: it names every current head, carries a version vector that
 * dominates them all and the operator's state, unfreezes the aggregate here, and replicates like any
 * other event so every region unfreezes to the same state.
 * @example await resolveConflict(deps, { aggregateType: 'profile', aggregateId: 'p1', state: chosen })
 */
export async function resolveConflict(
  deps: ResolveConflictDeps,
  request: ResolveConflictRequest,
): Promise<EventEnvelope> {
  const aggregate = deps.registry.get(request.aggregateType);
  const policy = policyFor(aggregate, deps.topology);
  const maxAttempts = deps.maxAttempts ?? 5;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const row = await deps.states.getState(aggregate.name, request.aggregateId);
    const log = await deps.events.loadStream(aggregate.name, request.aggregateId);
    const current = materialize({ aggregate, aggregateId: request.aggregateId, policy, events: log });
    const heads = current.heads.map((h) => h.eventId).sort();
    if (heads.length < 2) throw new NothingToResolveError(aggregate.name, request.aggregateId);
    const expected = [...(request.expectedHeads ?? heads)].sort();
    if (expected.join() !== heads.join())
      throw new StaleResolutionError(request.aggregateId, expected, heads);
    const resolution = resolutionEnvelope(deps, { request, log, heads, head: current.record.head });
    const next = materialize({
      aggregate,
      aggregateId: request.aggregateId,
      policy,
      events: [...log, resolution],
    });
    try {
      await appendWithState(deps, {
        tier: aggregate.tier,
        events: [resolution],
        record: next.record,
        expectedVersion: row?.version ?? 0,
      });
    } catch (error) {
      if (!(error instanceof StateVersionConflictError || error instanceof TransactionCanceledException))
        throw error;
      lastError = error;
      continue;
    }
    await reconcileConflicts(deps, {
      aggregateType: aggregate.name,
      aggregateId: request.aggregateId,
      event: resolution,
      set: next.sorted,
      now: new Date(),
    });
    return resolution;
  }
  throw new ResolutionContentionError(request.aggregateId, maxAttempts, { cause: lastError });
}

function resolutionEnvelope(
  deps: ResolveConflictDeps,
  input: { request: ResolveConflictRequest; log: EventEnvelope[]; heads: string[]; head: string | null },
): EventEnvelope {
  const { request, log, heads, head } = input;
  // Newer than every event folded so far, so it sorts after all the heads it resolves.
  const hlc = encodeHlc(head ? deps.clock.receive(decodeHlc(head)) : deps.clock.now());
  const vv = incrementVector(vectorOf(log), deps.region);
  const payload = { resolves: heads, state: request.state };
  const eventId = ulid();
  return {
    eventId,
    aggregateType: request.aggregateType,
    aggregateId: request.aggregateId,
    partition: partitionOf(request.aggregateId, deps.partitions),
    seq: vectorSize(vv),
    type: CONFLICT_RESOLVED,
    schemaVersion: CONFLICT_RESOLVED_VERSION,
    payload,
    origin: deps.region,
    hlc,
    epoch: 0,
    prev: head,
    vv,
    correlationId: request.correlationId ?? eventId,
    causationId: request.correlationId ?? eventId,
  };
}
