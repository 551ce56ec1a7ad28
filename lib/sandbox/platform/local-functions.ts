import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyEventV2, Context, DynamoDBStreamEvent } from 'aws-lambda';
import { createApiHandler, type MultiRegion } from '../../api/index.ts';
import { decodeHlc } from '../../clock/index.ts';
import type { CommandDeps } from '../../commands/index.ts';
import { peersOf, type Topology } from '../../config/index.ts';
import type { AggregateRegistry } from '../../model/index.ts';
import {
  type ApplyOutcome,
  type BusEntry,
  busConflictNotifier,
  createApplier,
  type LagMonitorTick,
  type OriginReader,
  publishStreamRecords,
  type ReplicationBus,
  replicationStatus,
  runLagMonitorTick,
} from '../../replication/index.ts';
import type { HomeLookup } from '../../routing/index.ts';
import {
  type AnySaga,
  regionSagas,
  type SagaStarter,
  type SagaTaskRequest,
  type SagaTimers,
} from '../../sagas/index.ts';
import type { LocalClients } from '../dynamodb/clients.ts';
import type { EventBridgeEvent, LocalEventBus } from '../eventbridge/index.ts';
import type { RunbookHandler, RunbookTaskRequest } from '../state-machines/runbook-port.ts';
import { type FunctionIam, NO_FUNCTION_IAM } from './function-iam.ts';
import type { LagRecorder } from './lag-recorder.ts';
import type { RegionStores } from './region-stores.ts';

/**
 * The replication-bus port over a local bus (the SDK's PutEvents shape on both sides). The call is
 * authorized like PutEvents on the bus's ARN: the caller's role and the bus's resource policy.
 */
export function localBusPort(bus: LocalEventBus, iam: FunctionIam = NO_FUNCTION_IAM): ReplicationBus {
  return {
    async putEvents(entries: readonly BusEntry[]) {
      const copies = entries.map((e) => ({ ...e, Resources: e.Resources ? [...e.Resources] : undefined }));
      await iam.putEvents(bus.arn, copies);
      return bus.putEvents(copies);
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
  /** Who each function runs as, and PutEvents authorization (default: no IAM). */
  readonly iam?: FunctionIam;
  /** The region's wall clock (epoch ms; skewable): the applier's gap ages and timestamps read it. */
  readonly now?: () => number;
}

/** One region's Lambda handlers, running the same lib/ code the functions/ handlers wire in AWS. */
export interface LocalFunctions {
  readonly api: (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
  readonly publisher: (
    event: DynamoDBStreamEvent,
  ) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  readonly applier: (event: EventBridgeEvent) => Promise<ApplyOutcome>;
  readonly lagMonitor: () => Promise<LagMonitorTick>;
  readonly runbook: RunbookHandler;
  /** The saga function: Saga machine tasks and the recovery sweep. */
  readonly saga: (request: SagaTaskRequest) => Promise<Record<string, unknown>>;
  readonly counters: HandlerCounters;
}

/** Builds the handlers of one region. */
export function localFunctions(deps: LocalFunctionDeps): LocalFunctions {
  const { region, topology, stores } = deps;
  const iam = deps.iam ?? NO_FUNCTION_IAM;
  const peers = peersOf(topology, region);
  const bus = localBusPort(deps.bus, iam);
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
    events: stores.events,
    states: stores.states,
    clock: stores.clock,
    region,
    partitions: topology.partitions,
    fenceCoreWrite: deps.multiRegion.fenceCoreWrite,
    ...(deps.multiRegion.replicateBeforeAck
      ? { replicateBeforeAck: deps.multiRegion.replicateBeforeAck }
      : {}),
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
    sagas: sagas.api,
    idempotency: new DynamoDBPersistenceLayer({
      tableName: stores.tables.idempotency,
      awsSdkV3Client: deps.clients.dynamodb,
    }),
    // The breaker report adds `traffic` (drained or active, from the control state) and ANDs `healthy`.
    health: async () => ({ healthy: !deps.drained(), replication: await status() }),
    replicationStatus: status,
    conflicts: stores.conflicts,
  });
  const apply = createApplier({
    region,
    topology,
    registry: deps.registry,
    clock: stores.clock,
    events: stores.events,
    states: stores.states,
    watermarks: stores.watermarks,
    parking: stores.parking,
    quarantine: stores.quarantine,
    conflicts: stores.conflicts,
    notifier: busConflictNotifier({ bus }),
    originReader: deps.originReader,
    ...(deps.now ? { now: () => new Date(deps.now!()) } : {}),
  });
  const handleApi = api as unknown as LocalFunctions['api'];
  return {
    api: (event, context) => iam.as('api', () => handleApi(event, context)),
    publisher: (event) =>
      iam.as('publisher', async () => {
        const report = await publishStreamRecords(event.Records, { region, bus, holds: stores.holds });
        counters.published += report.published;
        counters.publishFailures += report.failures.length;
        return { batchItemFailures: report.batchItemFailures };
      }),
    applier: (event) => iam.as('applier', () => applyOne(event)),
    lagMonitor: () =>
      iam.as('lag-monitor', () =>
        runLagMonitorTick({
          region,
          peers,
          clock: stores.clock,
          heartbeats: stores.heartbeats,
          watermarks: stores.watermarks,
          holds: stores.holds,
        }),
      ),
    runbook: (request: RunbookTaskRequest) => iam.as('runbook', () => deps.runbook(request)),
    saga: (request) => iam.as('saga', () => sagas.handler(request)),
    counters,
  };

  async function applyOne(event: EventBridgeEvent): Promise<ApplyOutcome> {
    const outcome = await apply(event.detail, event);
    countOutcome(counters, outcome);
    const hlc = (event.detail as { hlc?: unknown }).hlc;
    const origin = (event.detail as { origin?: unknown }).origin;
    if (outcome.status === 'applied' && typeof hlc === 'string' && typeof origin === 'string') {
      deps.lag.record(origin, region, Date.now() - decodeHlc(hlc).wall);
    }
    return outcome;
  }
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
