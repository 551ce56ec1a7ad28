import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { internalKeySecretName, secretsManagerInternalKey } from '../../lib/auth/index.ts';
import { HybridLogicalClock } from '../../lib/clock/index.ts';
import { ConflictRecordStore } from '../../lib/conflict/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import { applierOwnership, DynamoControlReplica } from '../../lib/ownership/index.ts';
import {
  type ApplyOutcome,
  type ApplyReplicatedBatch,
  type ApplyReplicatedEvent,
  backOffFailed,
  busConflictNotifier,
  createApplier,
  createBatchApplier,
  eventBridgeBus,
  eventStoreOriginReader,
  isRedriveBatch,
  type LaneVisibility,
  laneRecordsOf,
  ParkingStore,
  powertoolsReplicationMetrics,
  type QuarantinePort,
  QuarantineStore,
  type ReplicationMetrics,
  redriveBatchItemFailures,
  redriveFailedInvocations,
  sqsLaneVisibility,
  WatermarkStore,
} from '../../lib/replication/index.ts';
import { EventStore, StateStore } from '../../lib/store/index.ts';
import { application } from '../shared/application.ts';
import { regionControlClients } from '../shared/environment.ts';

export interface ApplierHandlerDeps {
  readonly apply: ApplyReplicatedEvent;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/** The applier's main function over injected deps (the sandbox and the tests call this). */
export function createApplierHandler(deps: ApplierHandlerDeps) {
  return async function applyFromBus(event: EventBridgeEvent<string, unknown>): Promise<ApplyOutcome> {
    const outcome = await deps.apply(event.detail, event);
    if (outcome.status === 'quarantined') {
      deps.logger?.warn('replicated event quarantined', {
        reason: outcome.reason,
        error: outcome.message,
        id: event.id,
      });
    }
    return outcome;
  };
}

export interface LaneHandlerDeps {
  readonly applyBatch: ApplyReplicatedBatch;
  /** Shortens the wait of failed records (ChangeMessageVisibility); without it they wait out the timeout. */
  readonly visibility?: LaneVisibility;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/**
 * The ordinary lane's main function: an SQS batch applied at once, answered with a partial batch
 * response (only the records that failed for a transient reason come back; poison is quarantined).
 */
export function createLaneHandler(deps: LaneHandlerDeps) {
  return async function applyFromLane(event: SQSEvent): Promise<SQSBatchResponse> {
    const report = await deps.applyBatch(laneRecordsOf(event.Records));
    for (const { id, outcome } of report.outcomes)
      if (outcome.status === 'quarantined')
        deps.logger?.warn('replicated event quarantined', {
          reason: outcome.reason,
          error: outcome.message,
          id,
        });
    for (const fallback of report.fallbacks)
      deps.logger?.warn('lane run refused: its events applied one by one', { ...fallback });
    if (report.failed.length > 0) {
      deps.logger?.warn('lane records failed, delivered again', { failed: report.failed.length });
      if (deps.visibility) await backOffFailed(deps.visibility, event.Records, report.failed);
    }
    return { batchItemFailures: report.failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

export interface RedriveHandlerDeps {
  readonly apply: ApplyReplicatedEvent;
  readonly quarantine: QuarantinePort;
  readonly metrics?: Pick<ReplicationMetrics, 'quarantined'>;
  readonly visibility?: LaneVisibility;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/**
 * applier-failures' batches: each record a failed asynchronous invocation (Lambda's invocation record),
 * its EventBridge event applied again through the real-time path; what fails again comes back later.
 */
export function createRedriveHandler(deps: RedriveHandlerDeps) {
  return async function redrive(event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) {
    const report = await redriveFailedInvocations(event.Records, {
      apply: (failed) => deps.apply(failed.detail, failed),
      quarantine: deps.quarantine,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.visibility ? { visibility: deps.visibility } : {}),
      ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    const applied = report.outcomes.filter((o) => o.outcome.status === 'applied').length;
    deps.logger?.info('applier-failures redriven', {
      records: event.Records.length,
      applied,
      done: report.outcomes.length,
      failed: report.failed.length,
      untried: report.untried.length,
      malformed: report.malformed.length,
    });
    return { batchItemFailures: redriveBatchItemFailures(report) };
  };
}

/** An SQS event (the ordinary lane) rather than an EventBridge one (the real-time rule). */
export function isLaneEvent(event: EventBridgeEvent<string, unknown> | SQSEvent): event is SQSEvent {
  return Array.isArray((event as SQSEvent).Records);
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const logger = new Logger();
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'multiactive' });
const dynamodb = new DynamoDBClient({});
const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
const eventBridge = new EventBridgeClient({});

/** Wiring from the environment contract of the cell (built on the first invocation, then reused). */
function fromEnvironment(): {
  main: ReturnType<typeof createApplierHandler>;
  lane: ReturnType<typeof createLaneHandler>;
  redrive: ReturnType<typeof createRedriveHandler>;
} {
  const topology = application().topology(env('MULTIACTIVE_ENV'));
  const region = env('MULTIACTIVE_REGION');
  const replication = { client: doc, tableName: env('TABLE_REPLICATION') };
  const eventsTable = env('TABLE_EVENTS');
  // Peer tables have the same names in every region; a client per origin reads a core gap from there.
  const peerStores = new Map<string, EventStore>();
  const originStore = (origin: string) => {
    let store = peerStores.get(origin);
    if (!store) {
      const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: origin }));
      store = new EventStore({ client, tableName: eventsTable });
      peerStores.set(origin, store);
    }
    return store;
  };
  const bus = eventBridgeBus({ client: eventBridge });
  // core.ack local: a cut event is taken as the home only on the home's lease, a majority read of every
  // region's control table (the same name everywhere), made only when the cut refuses an event.
  const controlTable = env('TABLE_CONTROL');
  const ownership = applierOwnership({
    region,
    replicas: Object.entries(regionControlClients(topology, region, doc)).map(
      ([name, client]) => new DynamoControlReplica({ region: name, client, tableName: controlTable }),
    ),
    controlTable,
    fencing: topology.fencing,
    callTimeoutMs: topology.routing.forwardTimeoutMs,
  });
  const deps = {
    region,
    topology,
    registry: createRegistry(application().aggregates, topology),
    clock: new HybridLogicalClock({ region, maxDriftMs: topology.thresholds.maxDriftMs }),
    events: new EventStore({
      client: doc,
      tableName: eventsTable,
      coreMarkerTableName: replication.tableName,
      maxEventBytes: topology.thresholds.maxEventBytes,
    }),
    states: new StateStore({ client: doc, tableName: env('TABLE_STATE') }),
    watermarks: new WatermarkStore(replication),
    parking: new ParkingStore(replication),
    conflicts: new ConflictRecordStore(replication),
    quarantine: new QuarantineStore({ client: doc, tableName: env('TABLE_QUARANTINE') }),
    notifier: busConflictNotifier({ bus, eventBusName: env('EVENT_BUS_NAME') }),
    originReader: eventStoreOriginReader(originStore),
    metrics: powertoolsReplicationMetrics(metrics),
    eventKey: secretsManagerInternalKey(internalKeySecretName(topology.name)),
    controlTable,
    homeLease: (partition: number) => ownership.homeLeaseForApply(partition),
  };
  const apply = createApplier(deps);
  const visibility = sqsLaneVisibility(new SQSClient({}));
  return {
    main: createApplierHandler({ apply, logger }),
    lane: createLaneHandler({ applyBatch: createBatchApplier(deps), visibility, logger }),
    redrive: createRedriveHandler({
      apply,
      quarantine: deps.quarantine,
      metrics: deps.metrics,
      visibility,
      logger,
    }),
  };
}

let wired: ReturnType<typeof fromEnvironment> | undefined;

/**
 * EventBridge (replication events of other origins, one per invocation), the ordinary lane's SQS batches
 * or applier-failures' batches (failed invocations, redriven) -> idempotent apply into this region's tables.
 */
export const handler = middy(
  (
    event: EventBridgeEvent<string, unknown> | SQSEvent,
    context: Context,
  ): Promise<ApplyOutcome | SQSBatchResponse> => {
    wired ??= fromEnvironment();
    if (!isLaneEvent(event)) return wired.main(event);
    return isRedriveBatch(event.Records) ? wired.redrive(event, context) : wired.lane(event);
  },
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
