import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type {
  APIGatewayProxyEventV2,
  Context,
  DynamoDBStreamEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import {
  createApiHandler,
  createHealthHandler,
  dynamoHealthProbe,
  type MultiRegion,
  RegionHealthMonitor,
} from '../../api/index.ts';
import type { InternalKey } from '../../auth/index.ts';
import { decodeHlc } from '../../clock/index.ts';
import type { CommandDeps } from '../../commands/index.ts';
import { peersOf, regionNames, type Topology } from '../../config/index.ts';
import { tickThroughWindow, type Watchdog } from '../../detection/index.ts';
import {
  ARCHIVE_STOP_MARGIN_MS,
  type ArchiveSweepReport,
  archiveSweep,
  localHomeOf,
  type PeerWatermarks,
  snapshotWriter,
} from '../../lifecycle/index.ts';
import type { AggregateRegistry } from '../../model/index.ts';
import type { PartitionOwnership } from '../../ownership/index.ts';
import {
  type ApplierDeps,
  type ApplyOutcome,
  type BusEntry,
  backOffFailed,
  busConflictNotifier,
  createApplier,
  createBatchApplier,
  homeRowCatchUp,
  isRedriveBatch,
  type LagMonitorTick,
  type LaneVisibility,
  laneRecordsOf,
  type OriginReader,
  publishStreamRecords,
  type ReplicationBus,
  redriveBatchItemFailures,
  redriveFailedInvocations,
  replicationStatus,
  runLagMonitorTick,
  WatermarkStore,
} from '../../replication/index.ts';
import type { HomeLookup } from '../../routing/index.ts';
import {
  type AnySaga,
  regionSagas,
  type SagaStarter,
  type SagaTaskRequest,
  type SagaTimers,
} from '../../sagas/index.ts';
import { countingErrors, type LocalMetrics, localReplicationMetrics } from '../cloudwatch/index.ts';
import type { LocalClients } from '../dynamodb/clients.ts';
import type { EventBridgeEvent, LocalEventBus } from '../eventbridge/index.ts';
import type { RunbookHandler, RunbookTaskRequest } from '../state-machines/runbook-port.ts';
import { type FunctionIam, NO_FUNCTION_IAM } from './function-iam.ts';
import { instancePool } from './instances.ts';
import type { LagRecorder } from './lag-recorder.ts';
import { withLambdaTimeout } from './lambda-timeout.ts';
import type { RegionStores } from './region-stores.ts';
import { type PipelineTrace, timedCalls, timedStep, tracedEventIds } from './stage-trace.ts';

/**
 * The replication-bus port over a local bus (the SDK's PutEvents shape on both sides). The call is
 * authorized like PutEvents on the bus's ARN: the caller's role and the bus's resource policy.
 */
export function localBusPort(
  bus: LocalEventBus,
  iam: FunctionIam = NO_FUNCTION_IAM,
  trace?: PipelineTrace,
): ReplicationBus {
  return {
    async putEvents(entries: readonly BusEntry[]) {
      const copies = entries.map((e) => ({ ...e, Resources: e.Resources ? [...e.Resources] : undefined }));
      await iam.putEvents(bus.arn, copies);
      const result = await bus.putEvents(copies);
      trace?.atOrigin('originBus', tracedEventIds.ofEntries(copies));
      return result;
    },
  };
}

/** Counters the sandbox keeps about what the handlers did (for the report). */
export interface HandlerCounters {
  applied: number;
  duplicates: number;
  parked: number;
  quarantined: number;
  heartbeats: number;
  conflictsDetected: number;
  published: number;
  publishFailures: number;
}

/** What the local functions of a region are built from. */
export interface LocalFunctionDeps {
  readonly region: string;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  readonly clients: LocalClients;
  readonly stores: RegionStores;
  readonly bus: LocalEventBus;
  /** Fencing, routing and breakers of the region (`multiRegionDeps(...).api`). */
  readonly multiRegion: MultiRegion['api'];
  /** The applier's own partition ownership: a home's lease for a cut event under `core.ack: local`. */
  readonly homeLease?: Pick<PartitionOwnership, 'homeLeaseForApply'>;
  readonly originReader: OriginReader;
  readonly lag: LagRecorder;
  readonly runbook: RunbookHandler;
  /** The application's sagas, their timers, and how this region starts Saga executions. */
  readonly sagas: {
    readonly definitions: readonly AnySaga[];
    readonly timers: SagaTimers;
    readonly starter: SagaStarter;
    /** Partition homes without claiming (the region's PartitionOwnership). */
    readonly homes: HomeLookup;
  };
  /**
   * A local override: true makes /health answer 503 whatever the control state says. The control state's
   * drained flag (`setRegionTraffic`) reaches /health through the traffic breaker of `multiRegion`.
   */
  readonly drained: () => boolean;
  /** The environment's internal key (peer tokens, event signatures), read as the calling function. */
  readonly internalKey: InternalKey;
  /** The sandbox's CloudWatch (handler metrics and Lambda errors go there). */
  readonly metrics: LocalMetrics;
  /** /health answers from a verdict at most this old (Route 53's checkers share it). */
  readonly healthCacheMs: number;
  /** Each function's timeout from its template, by function name (none: not enforced). */
  readonly functionTimeoutsMs?: ReadonlyMap<string, number>;
  /** The region's failure detector, and how its scheduled run ticks (see `watchdog`). */
  readonly watchdog: {
    readonly detector: Watchdog;
    readonly intervalMs: number;
    /** One scheduled run ticks this long (the schedule's rate). */
    readonly windowMs: number;
    /** False once the region is down: a run in progress stops. */
    readonly running: () => boolean;
  };
  /** Who each function runs as, and PutEvents authorization (default: no IAM). */
  readonly iam?: FunctionIam;
  /** The region's wall clock (epoch ms; skewable): the applier's gap ages and timestamps read it. */
  readonly now?: () => number;
  /** Per-event pipeline timestamps and quorum-ack step times, when a benchmark asks (`traceStages`). */
  readonly trace?: PipelineTrace;
  /** Every peer's watermarks and log, for the archiver (with a retention; read at each run). */
  readonly archiverPeers?: () => readonly PeerWatermarks[];
  /** ChangeMessageVisibility on the lane's queues (the applier backs off failed records). */
  readonly laneVisibility?: LaneVisibility;
}

/** One region's Lambda handlers, running the same lib/ code the functions/ handlers wire in AWS. */
export interface LocalFunctions {
  readonly api: (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
  readonly publisher: (
    event: DynamoDBStreamEvent,
  ) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  readonly applier: (event: EventBridgeEvent) => Promise<ApplyOutcome>;
  /** The applier invoked by the ordinary lane's SQS mapping: a batch, answered with a partial batch response. */
  readonly applierBatch: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly lagMonitor: () => Promise<LagMonitorTick>;
  readonly runbook: RunbookHandler;
  /** GET /health (its own function, as in AWS). */
  readonly health: (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
  /** One scheduled run of the watchdog: ticks through its window; resolves with the tick count. */
  readonly watchdog: () => Promise<{ ticks: number }>;
  /** The saga function: Saga machine tasks and the recovery sweep. */
  readonly saga: (request: SagaTaskRequest) => Promise<Record<string, unknown>>;
  /**
   * One scheduled run of the archiver (functions/archiver): the region's archive pass into its local
   * bucket directory, as the archiver's role. Undefined when no aggregate type has a retention.
   */
  readonly archiver?: () => Promise<ArchiveSweepReport>;
  readonly counters: HandlerCounters;
  /** The timeout an invocation of this function (short name: `applier`) is cut off at, if any. */
  readonly timeoutMs: (name: string) => number | undefined;
}

/** Builds the handlers of one region. */
export function localFunctions(deps: LocalFunctionDeps): LocalFunctions {
  const { region, topology, stores } = deps;
  const iam = deps.iam ?? NO_FUNCTION_IAM;
  const peers = peersOf(topology, region);
  const { trace } = deps;
  const bus = localBusPort(deps.bus, iam, trace);
  const counters: HandlerCounters = {
    applied: 0,
    duplicates: 0,
    parked: 0,
    quarantined: 0,
    heartbeats: 0,
    conflictsDetected: 0,
    published: 0,
    publishFailures: 0,
  };
  const status = () =>
    replicationStatus({
      region,
      peers,
      watermarks: stores.watermarks,
      quarantine: stores.quarantine,
      conflicts: stores.conflicts,
    });
  const commands: CommandDeps = {
    registry: deps.registry,
    events: timedCalls(trace, `events ${region}`, stores.events),
    states: timedCalls(trace, `states ${region}`, stores.states),
    clock: stores.clock,
    region,
    partitions: topology.partitions,
    fenceCoreWrite: deps.multiRegion.fenceCoreWrite,
    ...(deps.multiRegion.replicateBeforeAck
      ? { replicateBeforeAck: timedStep(trace, `quorum ack ${region}`, deps.multiRegion.replicateBeforeAck) }
      : {}),
    ...snapshotHook(topology, stores),
    ...(stores.archive ? { archive: stores.archive } : {}),
  };
  const sagas = regionSagas({
    sagas: deps.sagas.definitions,
    commands,
    router: deps.multiRegion.routing.router,
    homes: deps.sagas.homes,
    starter: deps.sagas.starter,
    states: { client: deps.clients.doc, tableName: stores.tables.state },
    timers: deps.sagas.timers,
    // The region's wall clock (skewed in chaos runs): hold expiries and the sweep's due times.
    ...(deps.now ? { now: deps.now } : {}),
  });
  const api = createApiHandler({
    ...commands,
    ...deps.multiRegion,
    // The traced hook when a benchmark times the quorum ack (the same function otherwise).
    ...(commands.replicateBeforeAck ? { replicateBeforeAck: commands.replicateBeforeAck } : {}),
    sagas: sagas.api,
    idempotency: new DynamoDBPersistenceLayer({
      tableName: stores.tables.idempotency,
      awsSdkV3Client: deps.clients.dynamodb,
    }),
    // The breaker report adds `traffic` (drained or active, from the control state) and ANDs `healthy`.
    health: async () => ({ healthy: !deps.drained(), replication: await status() }),
    replicationStatus: status,
    auth: {
      caller: topology.api.auth.type,
      peers: { key: deps.internalKey, env: topology.name, region, peers },
    },
    conflicts: stores.conflicts,
  });
  const traffic = deps.multiRegion.breakers.traffic;
  const health = createHealthHandler({
    region,
    healthMonitor: new RegionHealthMonitor({
      probeWrite: dynamoHealthProbe({ client: deps.clients.doc, tableName: stores.tables.control, region }),
      traffic: () => (traffic ? traffic.traffic() : Promise.resolve({ state: 'active', changedAt: 0 })),
      cacheMs: deps.healthCacheMs,
    }),
    breakers: deps.multiRegion.breakers,
    health: async () => ({ healthy: !deps.drained(), replication: await status() }),
  });
  const fn = (name: string) => `multiactive-${topology.name}-${name}`;
  // Each function an AWS service invokes runs under its template's timeout (the API and /health answer
  // under API Gateway's and Route 53's own limits); a timed-out invocation counts as an error, as in Lambda.
  const enforced = new Map<string, number>();
  const counted = <A extends unknown[], R>(
    name: string,
    f: (...args: A) => Promise<R>,
    options: { timeout?: boolean } = {},
  ) => {
    const timeout = options.timeout === false ? undefined : deps.functionTimeoutsMs?.get(fn(name));
    if (timeout !== undefined) enforced.set(name, timeout);
    return countingErrors(deps.metrics, fn(name), withLambdaTimeout(fn(name), timeout, f));
  };
  const applierTimeoutMs = deps.functionTimeoutsMs?.get(fn('applier'));
  const homeRows = homeRowCatchUp({
    registry: deps.registry,
    events: stores.events,
    states: stores.states,
  });
  // One set of deps for the per-event and the lane's batch applier, as the applier Lambda builds them.
  const applierDeps: ApplierDeps = {
    region,
    topology,
    registry: deps.registry,
    clock: stores.clock,
    // Traced (a benchmark): each store call's duration, so the apply stage splits into its requests.
    events: timedCalls(trace, `applier.events ${region}`, stores.events),
    states: timedCalls(trace, `applier.states ${region}`, stores.states),
    watermarks: stores.watermarks, // each instance has its own (below)
    parking: stores.parking,
    quarantine: stores.quarantine,
    conflicts: stores.conflicts,
    notifier: busConflictNotifier({ bus }),
    originReader: deps.originReader,
    metrics: localReplicationMetrics(deps.metrics, 'multiactive-applier'),
    eventKey: deps.internalKey,
    controlTable: stores.tables.control,
    ...(deps.homeLease
      ? { homeLease: (partition: number) => deps.homeLease!.homeLeaseForApply(partition) }
      : {}),
    ...(deps.now ? { now: () => new Date(deps.now!()) } : {}),
  };
  // One applier per Lambda instance (see instancePool): each keeps its own row cache and watermark store,
  // as the applier's module scope does in a Lambda environment, and runs one invocation at a time. (A
  // region-wide applier would share one cache and group-commit the watermarks of concurrent deliveries:
  // fewer requests than AWS makes, and no cache ever stale against another instance's write.)
  // The per-event path measures the lag when the event is readable (in the log with its row), before its
  // watermark write; the lane measures its batch after the batch (below).
  const applierInstances = instancePool(() => {
    const instanceDeps: ApplierDeps = {
      ...applierDeps,
      watermarks: timedCalls(
        trace,
        `applier.watermarks ${region}`,
        new WatermarkStore({ client: deps.clients.doc, tableName: stores.tables.replication }),
      ),
    };
    return {
      apply: createApplier({
        ...instanceDeps,
        onApplied(events) {
          for (const event of events) {
            deps.lag.record(event.origin, region, Date.now() - decodeHlc(event.hlc).wall);
            trace?.applied(event, region);
          }
        },
      }),
      applyBatch: createBatchApplier(instanceDeps),
    };
  });
  const { watchdog } = deps;
  const archive = archiverRun(deps);
  const handleApi = timedStep(trace, `api ${region}`, api as unknown as LocalFunctions['api']);
  const handleHealth = health as unknown as LocalFunctions['health'];
  return {
    api: (event, context) => iam.as('api', () => handleApi(event, context)),
    health: (event, context) => iam.as('health', () => handleHealth(event, context)),
    publisher: counted('publisher', (event: DynamoDBStreamEvent) =>
      iam.as('publisher', async () => {
        trace?.atOrigin('publisher', tracedEventIds.ofRecords(event.Records));
        const report = await publishStreamRecords(event.Records, {
          region,
          bus,
          signingKey: await deps.internalKey(),
          tierOf: (type) => (deps.registry.has(type) ? deps.registry.get(type).tier : undefined),
          holds: stores.holds,
          rows: homeRows,
        });
        counters.published += report.published;
        counters.publishFailures += report.failures.length;
        return { batchItemFailures: report.batchItemFailures };
      }),
    ),
    applier: counted('applier', (event: EventBridgeEvent) =>
      iam.as('applier', () => applierInstances.run((instance) => applyOne(instance, event))),
    ),
    applierBatch: counted('applier', (event: SQSEvent) => {
      // What the handler reads from its context: the time left before Lambda's timeout.
      const deadline = applierTimeoutMs === undefined ? undefined : Date.now() + applierTimeoutMs;
      return iam.as('applier', () =>
        applierInstances.run((instance) => applyLane(instance, event, deadline)),
      );
    }),
    lagMonitor: counted('lag-monitor', () =>
      iam.as('lag-monitor', () =>
        runLagMonitorTick({
          region,
          peers,
          clock: stores.clock,
          heartbeats: stores.heartbeats,
          watermarks: stores.watermarks,
          metrics: localReplicationMetrics(deps.metrics, 'multiactive-lag-monitor'),
          holds: stores.holds,
        }),
      ),
    ),
    runbook: counted('runbook', (request: RunbookTaskRequest) =>
      iam.as('runbook', () => deps.runbook(request)),
    ),
    watchdog: counted(
      'watchdog',
      () =>
        iam.as('watchdog', async () => {
          const ends = Date.now() + watchdog.windowMs;
          const ticks = await tickThroughWindow(() => watchdog.detector.tick(), {
            intervalMs: watchdog.intervalMs,
            remainingMs: () => (watchdog.running() ? ends - Date.now() : 0),
          });
          return { ticks };
        }),
      // Not cut off at its timeout: its sandbox run waits for the Failover it starts (Sandbox.startFailover),
      // where AWS's StartExecution returns at once, so a long Failover would time it out falsely.
      { timeout: false },
    ),
    saga: counted('saga', (request: SagaTaskRequest) => iam.as('saga', () => sagas.handler(request))),
    ...(archive ? { archiver: counted('archiver', () => iam.as('archiver', archive)) } : {}),
    counters,
    timeoutMs: (name) => enforced.get(name),
  };

  async function applyOne(instance: ApplierInstance, event: EventBridgeEvent): Promise<ApplyOutcome> {
    trace?.atDelivery('applierStart', event, region);
    const outcome = await instance.apply(event.detail, event);
    countOutcome(counters, outcome);
    return outcome;
  }

  async function applyLane(
    instance: ApplierInstance,
    event: SQSEvent,
    deadline: number | undefined,
  ): Promise<SQSBatchResponse> {
    // applier-failures' batches: failed invocations applied again through the real-time path.
    if (isRedriveBatch(event.Records)) {
      const report = await redriveFailedInvocations(event.Records, {
        apply: (failed) => applyOne(instance, failed as EventBridgeEvent),
        quarantine: stores.quarantine,
        metrics: applierDeps.metrics,
        ...(deps.laneVisibility ? { visibility: deps.laneVisibility } : {}),
        ...(deadline !== undefined ? { remainingMs: () => deadline - Date.now() } : {}),
      });
      return { batchItemFailures: redriveBatchItemFailures(report) };
    }
    const events = detailsOf(event);
    for (const e of events.values()) trace?.atDelivery('applierStart', e, region);
    const report = await instance.applyBatch(laneRecordsOf(event.Records));
    for (const { id, outcome } of report.outcomes) {
      countOutcome(counters, outcome);
      const detail = events.get(id)?.detail as { hlc?: unknown; origin?: unknown } | undefined;
      if (
        outcome.status !== 'applied' ||
        typeof detail?.hlc !== 'string' ||
        typeof detail.origin !== 'string'
      )
        continue;
      deps.lag.record(detail.origin, region, Date.now() - decodeHlc(detail.hlc).wall);
      trace?.applied(detail, region);
    }
    if (report.failed.length > 0 && deps.laneVisibility)
      await backOffFailed(deps.laneVisibility, event.Records, report.failed);
    return { batchItemFailures: report.failed.map((itemIdentifier) => ({ itemIdentifier })) };
  }
}

/** One Lambda instance of the applier: its per-event and batch appliers over its own caches. */
interface ApplierInstance {
  readonly apply: ReturnType<typeof createApplier>;
  readonly applyBatch: ReturnType<typeof createBatchApplier>;
}

/** The details of a lane batch by message id (for the lag and trace of what was applied). */
function detailsOf(event: SQSEvent): Map<string, EventBridgeEvent> {
  const out = new Map<string, EventBridgeEvent>();
  for (const record of event.Records) {
    try {
      out.set(record.messageId, JSON.parse(record.body) as EventBridgeEvent);
    } catch {
      // Poison: the applier quarantines it.
    }
  }
  return out;
}

/** The region's snapshots, and the home's snapshot writer when an aggregate type asks for snapshots. */
function snapshotHook(
  topology: Topology,
  stores: RegionStores,
): Pick<CommandDeps, 'afterCoreAppend' | 'snapshots'> {
  const writer = snapshotWriter({ topology, store: stores.snapshots });
  return { snapshots: stores.snapshots, ...(writer ? { afterCoreAppend: writer } : {}) };
}

function countOutcome(counters: HandlerCounters, outcome: ApplyOutcome): void {
  if (outcome.status === 'heartbeat') counters.heartbeats++;
  else if (outcome.status === 'quarantined') counters.quarantined++;
  else {
    if (outcome.status === 'applied') counters.applied++;
    if (outcome.status === 'duplicate') counters.duplicates++;
    if (outcome.status === 'parked') counters.parked++;
    counters.conflictsDetected += outcome.conflictsDetected;
  }
}

/**
 * The archiver's pass over the region's stores (`archiveSweep`, as functions/archiver runs it): gated on
 * every other region's watermarks and log (a region missing from `archiverPeers` fails the pass), over
 * the aggregates this region's own copy of the partition map homes here.
 */
function archiverRun(deps: LocalFunctionDeps): (() => Promise<ArchiveSweepReport>) | undefined {
  const { stores, clients, topology, region } = deps;
  const { archive } = stores;
  if (!archive) return undefined;
  const timeoutMs = deps.functionTimeoutsMs?.get(`multiactive-${topology.name}-archiver`);
  return () =>
    archiveSweep(
      {
        events: stores.events,
        snapshots: stores.snapshots,
        archive,
        client: clients.doc,
        eventsTable: stores.tables.events,
        peers: deps.archiverPeers?.() ?? [],
        topology: {
          region,
          regions: regionNames(topology),
          homeOf: localHomeOf({ region, client: clients.doc, controlTable: stores.tables.control }),
        },
      },
      {
        topology,
        registry: deps.registry,
        stateTable: stores.tables.state,
        now: (deps.now ?? Date.now)(),
        // As the archiver's handler does from its context: stop a margin before the function's timeout.
        ...(timeoutMs !== undefined ? { stopAt: Date.now() + timeoutMs - ARCHIVE_STOP_MARGIN_MS } : {}),
      },
    );
}
