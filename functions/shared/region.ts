import { SFNClient } from '@aws-sdk/client-sfn';
import type { CommandDeps } from '../../lib/commands/index.ts';
import { type RegionSagas, regionSagas, StepFunctionsSagaStarter } from '../../lib/sagas/index.ts';
import { application } from './application.ts';
import { type CellRouting, cellRouting } from './cell-routing.ts';
import type { CellRuntime } from './environment.ts';

/** What the API and the saga function of a cell share: routing, command deps and sagas. */
export interface RegionWiring extends CellRouting {
  readonly commands: CommandDeps;
  readonly sagas: RegionSagas;
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
