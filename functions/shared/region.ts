import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { exampleSagas } from '../../events/index.ts';
import { type MultiRegion, multiRegionDeps } from '../../lib/api/index.ts';
import type { CommandDeps } from '../../lib/commands/index.ts';
import { writePathRequestHandler } from '../../lib/ownership/index.ts';
import { ReplicationWatermarks, WatermarkStore } from '../../lib/replication/index.ts';
import { FetchPeerTransport, parseRegionEndpoints } from '../../lib/routing/index.ts';
import { type RegionSagas, regionSagas, StepFunctionsSagaStarter } from '../../lib/sagas/index.ts';
import type { CellRuntime } from './environment.ts';

/** What the API and the saga function of a cell share: ownership, routing, command deps and sagas. */
export interface RegionWiring {
  readonly endpoints: Record<string, string>;
  readonly watermarkStore: WatermarkStore;
  readonly multiRegion: MultiRegion;
  readonly commands: CommandDeps;
  readonly sagas: RegionSagas;
}

/**
 * Builds, once per container, the region's partition ownership and routing (`multiRegionDeps` over a
 * document client per region), its command deps (fencing, quorum ack) and its sagas (Step Functions
 * starter for this region's Saga machine).
 */
export function regionWiring(
  runtime: CellRuntime,
  onStartFailed?: (sagaId: string, error: unknown) => void,
): RegionWiring {
  const { environment, topology } = runtime;
  const region = environment.MULTIACTIVE_REGION;
  const endpoints = parseRegionEndpoints(environment.REGION_ENDPOINTS);
  /** One client per region for the quorum control state (tables have the same name in every region). */
  const controlClients = Object.fromEntries(
    topology.regions.map((r) => [
      r.name,
      r.name === region
        ? runtime.doc
        : DynamoDBDocumentClient.from(
            new DynamoDBClient({ region: r.name, requestHandler: writePathRequestHandler(topology.fencing) }),
            { marshallOptions: { removeUndefinedValues: true } },
          ),
    ]),
  );
  const watermarkStore = new WatermarkStore({
    client: runtime.doc,
    tableName: environment.TABLE_REPLICATION,
  });
  /** Watermarks for read-your-writes and lag for the sync breakers, from the local replication table. */
  const watermarks = new ReplicationWatermarks({
    store: watermarkStore,
    heartbeatIntervalMs: topology.thresholds.heartbeatIntervalMs,
  });
  const multiRegion = multiRegionDeps({
    topology,
    region,
    controlClients,
    controlTable: environment.TABLE_CONTROL,
    replicationTable: environment.TABLE_REPLICATION,
    events: { client: runtime.doc, tableName: environment.TABLE_EVENTS },
    states: runtime.states,
    transport: new FetchPeerTransport({ endpoints }),
    endpoints,
    lag: watermarks,
    watermarks,
  });
  const commands: CommandDeps = {
    registry: runtime.registry,
    events: runtime.events,
    states: runtime.states,
    clock: runtime.clock,
    region,
    partitions: topology.partitions,
    fenceCoreWrite: multiRegion.api.fenceCoreWrite,
    ...(multiRegion.api.replicateBeforeAck ? { replicateBeforeAck: multiRegion.api.replicateBeforeAck } : {}),
  };
  const sagas = regionSagas({
    sagas: exampleSagas,
    commands,
    router: multiRegion.api.routing.router,
    homes: multiRegion.ownership,
    starter: new StepFunctionsSagaStarter({
      client: new SFNClient({}),
      stateMachineArn: environment.SAGA_STATE_MACHINE_ARN,
    }),
    states: { client: runtime.doc, tableName: environment.TABLE_STATE },
    timers: topology.sagas,
    ...(onStartFailed ? { onStartFailed } : {}),
  });
  return { endpoints, watermarkStore, multiRegion, commands, sagas };
}
