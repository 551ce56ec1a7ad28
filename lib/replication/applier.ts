import { checkSignedDetail } from '../auth/event-signature.ts';
import type { InternalKey } from '../auth/internal-key.ts';
import type { HybridLogicalClock } from '../clock/clock.ts';
import { ClockDriftError, decodeHlc } from '../clock/hlc.ts';
import type { Topology } from '../config/schema.ts';
import { policyFor } from '../conflict/policy.ts';
import type { ConflictNotifier } from '../conflict/reconcile.ts';
import type { ConflictRecordPort } from '../conflict/record-store.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateRecord, StateStore } from '../store/state-store.ts';
import { applyCore } from './apply-core.ts';
import { applyMaterialized } from './apply-materialized.ts';
import type { CoreDrainDeps } from './core-drain.ts';
import { POISON_REASONS, PoisonEventError, type PoisonReason } from './errors.ts';
import { unpublishedFrom } from './heartbeat.ts';
import type { ParkingStore } from './parking.ts';
import { NO_METRICS, type OriginReader, type ReplicationMetrics } from './ports.ts';
import type { QuarantinePort } from './quarantine.ts';
import { StateRecordCache } from './state-cache.ts';
import { sweepParked } from './sweeper.ts';
import { validateIncoming } from './validate.ts';
import type { WatermarkStore } from './watermarks.ts';

export interface ApplierDeps {
  /** The region this applier runs in. */
  readonly region: string;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  /** One clock per process: every applied HLC is received, so later local writes sort after it. */
  readonly clock: HybridLogicalClock;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly watermarks: WatermarkStore;
  readonly parking: ParkingStore;
  readonly quarantine: QuarantinePort;
  readonly conflicts: ConflictRecordPort;
  readonly notifier?: ConflictNotifier;
  readonly originReader?: OriginReader;
  readonly metrics?: ReplicationMetrics;
  /** Wall clock for gap ages and timestamps; injectable so tests can age a gap. */
  readonly now?: () => Date;
  /**
   * The environment's internal key: with it, only events signed with it (by a region's publisher or a
   * runbook's replay) are applied; anything else on the bus is quarantined as `Unauthenticated`.
   */
  readonly eventKey?: InternalKey;
  /**
   * How often this applier sweeps parked core events on its idle path (a heartbeat delivery); default
   * `thresholds.heartbeatIntervalMs`. 0 sweeps on every heartbeat.
   */
  readonly sweepEveryMs?: number;
  /**
   * Called with the events an apply put into the log with their rows (readable here from then on), before
   * the watermark is advanced: the replication lag is measured to this point, as DynamoDB measures a
   * global table's ReplicationLatency to the replica's write. The apply still returns only after the
   * watermark advance, so the invocation (and its retry on failure) covers both.
   */
  readonly onApplied?: (events: readonly EventEnvelope[]) => void;
  /**
   * This region's control table: every core append of a delivered (or parked, or origin-fetched) event
   * condition-checks in its own transaction that no Failover cut the origin's history here past the
   * event's epoch (lib/ownership/failover-cut.ts); such an event is quarantined `SupersededByFailover`
   * instead of forking this region from its home. Wired in production (applier function, sandbox).
   */
  readonly controlTable?: string;
  /**
   * `core.ack: local`: the home's lease (PartitionOwnership.homeLeaseForApply over every region's control
   * table), checked only when the Failover cut refuses an event (CoreDrainDeps.homeLease), so the common
   * apply path makes no extra request. Without it this region never takes a cut event as the home.
   */
  readonly homeLease?: CoreDrainDeps['homeLease'];
}

/** What happened to one incoming event. */
export type ApplyOutcome =
  | {
      readonly status: 'applied' | 'duplicate' | 'parked';
      readonly record: StateRecord;
      readonly conflictsDetected: number;
    }
  | { readonly status: 'heartbeat'; readonly advanced: boolean }
  | { readonly status: 'quarantined'; readonly reason: PoisonReason; readonly message: string };

/** Applies one replicated event (the EventBridge `detail`); `raw` is what gets quarantined (default: detail). */
export type ApplyReplicatedEvent = (detail: unknown, raw?: unknown) => Promise<ApplyOutcome>;

/**
 * Builds the applier: validates an incoming event, applies it by tier (core in sequence order with
 * parking; important/ordinary by re-materialization with the conflict policy), advances the origin's
 * watermark, and quarantines poison with its reason. Transient errors (throttling, network) are thrown so
 * the delivery is retried.
 * @example const apply = createApplier(deps); await apply(eventBridgeEvent.detail, eventBridgeEvent);
 */
export function createApplier(deps: ApplierDeps): ApplyReplicatedEvent {
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics ?? NO_METRICS;
  // Per applier (one per Lambda instance): events of an aggregate mostly follow one another here.
  const cache = new StateRecordCache();

  async function quarantine(raw: unknown, error: PoisonEventError): Promise<ApplyOutcome> {
    await deps.quarantine.quarantine({
      reason: error.reason,
      message: error.message,
      raw,
      receivedAt: now(),
      context: error.context,
    });
    metrics.quarantined(error.reason);
    return { status: 'quarantined', reason: error.reason, message: error.message };
  }

  async function advance(appended: readonly EventEnvelope[]): Promise<void> {
    const newest = new Map<string, string>();
    for (const event of appended) {
      const seen = newest.get(event.origin);
      if (!seen || event.hlc > seen) newest.set(event.origin, event.hlc);
    }
    for (const [origin, hlc] of newest) await deps.watermarks.advance(origin, hlc, now());
  }

  const validation = () => ({
    region: deps.region,
    registry: deps.registry,
    clock: deps.clock,
    maxEventBytes: deps.events.maxEventBytes,
  });
  const coreDeps: CoreDrainDeps = {
    events: deps.events,
    states: deps.states,
    parking: deps.parking,
    ...(deps.originReader ? { originReader: deps.originReader } : {}),
    gapTimeoutMs: deps.topology.thresholds.coreGapTimeoutMs,
    now,
    ...(deps.controlTable ? { controlTable: deps.controlTable } : {}),
    ...(deps.controlTable && deps.topology.core.ack !== 'quorum' ? { homeTakesCut: deps.region } : {}),
    ...(deps.homeLease ? { homeLease: deps.homeLease } : {}),
    quarantineParked: async (parked, error) => void (await quarantine(parked, error)),
    validateFetched(raw) {
      const validated = validateIncoming(raw, validation());
      if (validated.kind === 'event' && validated.aggregate.tier === 'core') return validated.envelope;
      throw new PoisonEventError(POISON_REASONS.invalidEnvelope, 'a fetched gap event is not a core event');
    },
  };
  const sweepEveryMs = deps.sweepEveryMs ?? deps.topology.thresholds.heartbeatIntervalMs;
  let lastSweep = now().getTime();

  /**
   * The idle path: heartbeats reach every applier from every live peer each heartbeat interval, traffic
   * or not, so parked core events are swept (drained, or their gap fetched once timed out) at least that
   * often without a new event of their aggregate. A sweep that fails is tried again on a later heartbeat.
   */
  async function sweepIfDue(): Promise<void> {
    if (now().getTime() - lastSweep < sweepEveryMs) return;
    lastSweep = now().getTime();
    const report = await sweepParked({ ...coreDeps, registry: deps.registry });
    await advance(report.appended);
  }

  async function applyHeartbeat(envelope: EventEnvelope): Promise<ApplyOutcome> {
    try {
      deps.clock.receive(decodeHlc(envelope.hlc));
    } catch (error) {
      // A heartbeat from a clock too far ahead must not move the watermark; it is not data, so no quarantine.
      if (error instanceof ClockDriftError) return { status: 'heartbeat', advanced: false };
      throw error;
    }
    // Whatever the origin could not publish keeps this watermark below it (see PublishHolds).
    await deps.watermarks.hold(envelope.origin, unpublishedFrom(envelope) ?? null, envelope.hlc);
    const advanced = await deps.watermarks.advance(envelope.origin, envelope.hlc, now());
    await sweepIfDue();
    return { status: 'heartbeat', advanced };
  }

  async function applyEvent(detail: unknown): Promise<ApplyOutcome> {
    const validated = validateIncoming(detail, validation());
    if (validated.kind === 'heartbeat') return applyHeartbeat(validated.envelope);
    const { aggregate, envelope: event } = validated;
    if (aggregate.tier === 'core') {
      const result = await applyCore({ ...coreDeps, cache }, { aggregate, event });
      if (result.appended.length > 0) deps.onApplied?.(result.appended);
      await advance(result.appended);
      return { status: result.status, record: result.record, conflictsDetected: 0 };
    }
    const policy = policyFor(aggregate, deps.topology);
    const result = await applyMaterialized(
      {
        events: deps.events,
        states: deps.states,
        conflicts: deps.conflicts,
        ...(deps.notifier ? { notifier: deps.notifier } : {}),
        now,
        cache,
      },
      { aggregate, policy, event },
    );
    if (result.status === 'applied') {
      deps.onApplied?.([event]);
      await advance([event]);
    }
    if (result.conflictsDetected > 0) metrics.conflictsDetected(result.conflictsDetected);
    return { status: result.status, record: result.record, conflictsDetected: result.conflictsDetected };
  }

  /** The envelope of a signed detail; an unsigned or altered one is poison (it did not come from a peer). */
  async function authenticated(detail: unknown): Promise<unknown> {
    if (!deps.eventKey) return detail;
    const check = checkSignedDetail(detail, await deps.eventKey());
    if (!check.ok) throw new PoisonEventError(POISON_REASONS.unauthenticated, check.reason);
    return check.envelope;
  }

  return async function applyReplicatedEvent(detail, raw = detail) {
    try {
      return await applyEvent(await authenticated(detail));
    } catch (error) {
      if (error instanceof PoisonEventError) return quarantine(raw, error);
      throw error;
    }
  };
}
