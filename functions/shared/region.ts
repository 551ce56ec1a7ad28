import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { CommandDeps } from '../../lib/commands/index.ts';
import { S3ArchiveStore, SnapshotStore, snapshotWriter } from '../../lib/lifecycle/index.ts';
import { type RegionSagas, regionSagas, StepFunctionsSagaStarter } from '../../lib/sagas/index.ts';
import { application } from './application.ts';
import { type CellRouting, cellRouting } from './cell-routing.ts';
import type { CellRuntime } from './environment.ts';

/** What the API and the saga function of a cell share: routing, command deps and sagas. */
export interface RegionWiring extends CellRouting {
  readonly commands: CommandDeps;
  readonly sagas: RegionSagas;
}

/** The region's snapshots, and the home's snapshot writer when an aggregate type asks for snapshots. */
function snapshotHook(runtime: CellRuntime): Pick<CommandDeps, 'afterCoreAppend' | 'snapshots'> {
  const tableName = runtime.environment.TABLE_SNAPSHOTS;
  if (!tableName) return {};
  const store = new SnapshotStore({ client: runtime.doc, tableName });
  const writer = snapshotWriter({
    topology: runtime.topology,
    store,
    onError: (error, landed) =>
      console.warn(
        JSON.stringify({
          message: 'snapshot not written',
          aggregate: `${landed.aggregate.name}#${landed.after.aggregateId}`,
          version: landed.after.version,
          error: error instanceof Error ? error.message : String(error),
        }),
      ),
  });
  return { snapshots: store, ...(writer ? { afterCoreAppend: writer } : {}) };
}

/** The region's retention archive (its bucket), when the cell has one (`ARCHIVE_BUCKET`). */
function archiveOf(runtime: CellRuntime): Pick<CommandDeps, 'archive'> {
  const bucket = runtime.environment.ARCHIVE_BUCKET;
  if (!bucket) return {};
  return { archive: new S3ArchiveStore({ client: new S3Client({}), bucket, app: application().name }) };
}

/**
 * Builds, once per container, the cell's routing (`cellRouting`: ownership, authenticated peers), its
 * command deps (fencing, quorum ack) and its sagas (the Step Functions starter for this region's Saga
 * machine).
 */
export function regionWiring(
  runtime: CellRuntime,
  onStartFailed?: (sagaId: string, error: unknown) => void,
): RegionWiring {
  const { environment, topology } = runtime;
  const routing = cellRouting(runtime);
  const { multiRegion } = routing;
  const commands: CommandDeps = {
    registry: runtime.registry,
    events: runtime.events,
    states: runtime.states,
    clock: runtime.clock,
    region: environment.MULTIACTIVE_REGION,
    partitions: topology.partitions,
    fenceCoreWrite: multiRegion.api.fenceCoreWrite,
    ...(multiRegion.api.replicateBeforeAck ? { replicateBeforeAck: multiRegion.api.replicateBeforeAck } : {}),
    ...snapshotHook(runtime),
    ...archiveOf(runtime),
  };
  const sagas = regionSagas({
    sagas: application().sagas,
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
  return { ...routing, commands, sagas };
}
