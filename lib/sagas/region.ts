import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandDeps } from '../commands/execute.ts';
import type { CommandRouter, HomeLookup } from '../routing/router.ts';
import { type AnySaga, sagaCatalog } from './definition.ts';
import { DynamoDueSagaSource } from './due-index.ts';
import type { SagaCommandPort, SagaStarter } from './ports.ts';
import { RoutedCommandPort } from './routed-port.ts';
import { createSagaTaskHandler } from './tasks.ts';

/** Saga timers (topology `sagas`, or the sandbox's compressed ones). */
export interface SagaTimers {
  readonly holdMs: number;
  readonly resumeAfterMs: number;
  readonly waitMs: number;
}

export interface RegionSagaOptions {
  readonly sagas: readonly AnySaga[];
  /** The region's command deps, as the API has them (fencing and quorum ack included). */
  readonly commands: CommandDeps;
  readonly router: CommandRouter;
  readonly homes: HomeLookup;
  readonly starter: SagaStarter;
  /** The state table, for the sweep's `byDue` queries. */
  readonly states: { readonly client: DynamoDBDocumentClient; readonly tableName: string | (() => string) };
  readonly timers: SagaTimers;
  readonly onStartFailed?: (sagaId: string, error: unknown) => void;
  /** The coordinator's and the sweep's clock (epoch ms); Date.now by default. */
  readonly now?: () => number;
}

/** What one region needs for its sagas: the API's saga deps and the saga function's handler. */
export interface RegionSagas {
  readonly port: SagaCommandPort;
  /** Spread into ApiDeps.sagas. */
  readonly api: {
    readonly sagas: readonly AnySaga[];
    readonly port: SagaCommandPort;
    readonly starter: SagaStarter;
    readonly holdMs: number;
    readonly resumeAfterMs: number;
    readonly waitMs: number;
    readonly now: () => number;
    readonly onStartFailed?: (sagaId: string, error: unknown) => void;
  };
  /** The saga function: the Saga machine's tasks and the scheduled sweep. */
  readonly handler: ReturnType<typeof createSagaTaskHandler>;
}

/**
 * Wires a region's sagas from its command deps and router, the same way in Lambda and in the sandbox.
 * @example const sagas = regionSagas({ sagas: application.sagas, commands, router, homes, starter, states, timers });
 */
export function regionSagas(options: RegionSagaOptions): RegionSagas {
  const { commands, timers } = options;
  const catalog = sagaCatalog(options.sagas);
  const port = new RoutedCommandPort({ commands, router: options.router, homes: options.homes });
  const now = options.now ?? Date.now;
  const handler = createSagaTaskHandler({
    coordinator: { sagas: catalog, port, now },
    sweep: {
      now,
      region: commands.region,
      partitions: commands.partitions,
      sagas: catalog,
      due: new DynamoDueSagaSource(options.states),
      homes: options.homes,
      starter: options.starter,
      resumeEveryMs: timers.resumeAfterMs,
      rows: commands,
    },
  });
  return {
    port,
    api: {
      sagas: options.sagas,
      port,
      starter: options.starter,
      holdMs: timers.holdMs,
      resumeAfterMs: timers.resumeAfterMs,
      waitMs: timers.waitMs,
      now,
      ...(options.onStartFailed ? { onStartFailed: options.onStartFailed } : {}),
    },
    handler,
  };
}
