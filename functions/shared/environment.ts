import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type InternalKey, internalKeySecretName, secretsManagerInternalKey } from '../../lib/auth/index.ts';
import { HybridLogicalClock } from '../../lib/clock/index.ts';
import type { Topology } from '../../lib/config/index.ts';
import { type AggregateRegistry, createRegistry } from '../../lib/model/index.ts';
import { writePathRequestHandler } from '../../lib/ownership/index.ts';
import { EventStore, StateStore } from '../../lib/store/index.ts';
import { application } from './application.ts';

/** The environment contract every Lambda of a cell is deployed with (set by cdk/constructs). */
const environmentSchema = z.object({
  MULTIACTIVE_ENV: z.string().min(1),
  MULTIACTIVE_REGION: z.string().min(1),
  TABLE_EVENTS: z.string().min(3),
  TABLE_STATE: z.string().min(3),
  TABLE_REPLICATION: z.string().min(3),
  TABLE_CONTROL: z.string().min(3),
  TABLE_QUARANTINE: z.string().min(3),
  TABLE_IDEMPOTENCY: z.string().min(3),
  /** Snapshots of core aggregates (lib/lifecycle); absent in environments deployed before the table. */
  TABLE_SNAPSHOTS: z.string().min(3).optional(),
  /** The region's retention archive bucket (cdk/constructs/cell-archive.ts); only with a retention. */
  ARCHIVE_BUCKET: z.string().min(3).optional(),
  EVENT_BUS_NAME: z.string().min(1),
  REGION_ENDPOINTS: z.string().default('{}'),
  /** This region's Saga state machine (the API begins sagas, the sweep resumes them). */
  SAGA_STATE_MACHINE_ARN: z.string().default(''),
});
export type CellEnvironment = z.infer<typeof environmentSchema>;

/** Reads and validates the Lambda environment; a missing variable fails the cold start with its name. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CellEnvironment {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`Lambda environment is incomplete: ${names}`);
  }
  return parsed.data;
}

export interface CellRuntime {
  readonly environment: CellEnvironment;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly clock: HybridLogicalClock;
  /** The environment's internal key (the region's replica of the secret), read on first use, cached. */
  readonly internalKey: InternalKey;
}

/** Clients and stores built once per Lambda container (module scope), from the environment. */
export function cellRuntime(env: NodeJS.ProcessEnv = process.env): CellRuntime {
  const environment = readEnvironment(env);
  const app = application();
  const topology = app.topology(environment.MULTIACTIVE_ENV);
  // Every call of a core write is bounded (lib/ownership/fencing-budget.ts); the append also aborts itself.
  const dynamodb = new DynamoDBClient({ requestHandler: writePathRequestHandler(topology.fencing) });
  const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  return {
    environment,
    topology,
    registry: createRegistry(app.aggregates, topology),
    dynamodb,
    doc,
    events: new EventStore({
      client: doc,
      tableName: environment.TABLE_EVENTS,
      coreMarkerTableName: environment.TABLE_REPLICATION,
      maxEventBytes: topology.thresholds.maxEventBytes,
    }),
    states: new StateStore({ client: doc, tableName: environment.TABLE_STATE }),
    internalKey: secretsManagerInternalKey(internalKeySecretName(topology.name)),
    clock: new HybridLogicalClock({
      region: environment.MULTIACTIVE_REGION,
      maxDriftMs: topology.thresholds.maxDriftMs,
    }),
  };
}

/**
 * One document client per region for the quorum control state (tables have the same name in every region):
 * this region's own client, and the peers' bounded by the write path's request handler.
 */
export function regionControlClients(
  topology: Topology,
  region: string,
  local: DynamoDBDocumentClient,
): Record<string, DynamoDBDocumentClient> {
  return Object.fromEntries(
    topology.regions.map((r) => [
      r.name,
      r.name === region
        ? local
        : DynamoDBDocumentClient.from(
            new DynamoDBClient({ region: r.name, requestHandler: writePathRequestHandler(topology.fencing) }),
            { marshallOptions: { removeUndefinedValues: true } },
          ),
    ]),
  );
}
