import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Topology } from '../../lib/config/index.ts';
import { peersOf, regionNames } from '../../lib/config/index.ts';
import {
  ARCHIVE_STOP_MARGIN_MS,
  type ArchiverDeps,
  type ArchiveSweepReport,
  archiveSweep,
  localHomeOf,
  peerWatermarks,
  S3ArchiveStore,
  SnapshotStore,
} from '../../lib/lifecycle/index.ts';
import type { AggregateRegistry } from '../../lib/model/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import { EventStore, tableNames } from '../../lib/store/index.ts';
import { application } from '../shared/application.ts';

export interface ArchiverHandlerDeps extends Omit<ArchiverDeps, 'topology'> {
  readonly topology: Topology;
  /** This region: every other region of the topology needs its entry in `peers` (ArchiverDeps.topology). */
  readonly region: string;
  /**
   * This region's control table: each pass reads its own copy of the partition map (`localHomeOf`) and
   * archives only the aggregates homed here. Absent: no home check (every aggregate is taken as homed here).
   */
  readonly controlTable?: string;
  readonly registry: AggregateRegistry;
  readonly stateTable: string;
  readonly now?: () => number;
  /** Per type: aggregates looked at and events archived; failures counted (Powertools metrics on AWS). */
  readonly record?: (report: ArchiveSweepReport) => void;
}

/**
 * The archiver's main function over injected deps: one region's archive pass (`archiveSweep`), gated on
 * every peer's watermark and log (`ArchiverDeps.peers`, one per other region of the topology), over the
 * aggregates homed here. A failed aggregate is in the report and retried
 * on the next run; the run itself throws only when nothing could be read at all.
 */
export function createArchiverHandler(deps: ArchiverHandlerDeps) {
  return async function archive(
    _event?: unknown,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<ArchiveSweepReport> {
    const { region, controlTable } = deps;
    // Per pass: the gate's every other region, and the homes as this region's copy of the map says now.
    const topology: NonNullable<ArchiverDeps['topology']> = {
      region,
      regions: regionNames(deps.topology),
      ...(controlTable ? { homeOf: localHomeOf({ region, client: deps.client, controlTable }) } : {}),
    };
    const report = await archiveSweep(
      { ...deps, topology },
      {
        topology: deps.topology,
        registry: deps.registry,
        stateTable: deps.stateTable,
        now: (deps.now ?? Date.now)(),
        // A pass longer than one run stops before Lambda's timeout and the next run goes on from there.
        ...(context
          ? { stopAt: Date.now() + context.getRemainingTimeInMillis() - ARCHIVE_STOP_MARGIN_MS }
          : {}),
      },
    );
    deps.record?.(report);
    return report;
  };
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const logger = new Logger();
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'multiactive' });
const documentClient = (region?: string) =>
  DynamoDBDocumentClient.from(new DynamoDBClient(region ? { region } : {}), {
    marshallOptions: { removeUndefinedValues: true },
  });
let main: ReturnType<typeof createArchiverHandler> | undefined;

function fromEnvironment(): ReturnType<typeof createArchiverHandler> {
  const app = application();
  const topology = app.topology(env('MULTIACTIVE_ENV'));
  const region = env('MULTIACTIVE_REGION');
  const doc = documentClient();
  const tables = tableNames(topology.name);
  return createArchiverHandler({
    topology,
    region,
    registry: createRegistry(app.aggregates, topology),
    stateTable: env('TABLE_STATE'),
    controlTable: env('TABLE_CONTROL'),
    events: new EventStore({ client: doc, tableName: env('TABLE_EVENTS') }),
    snapshots: new SnapshotStore({ client: doc, tableName: env('TABLE_SNAPSHOTS') }),
    archive: new S3ArchiveStore({ client: new S3Client({}), bucket: env('ARCHIVE_BUCKET'), app: app.name }),
    client: doc,
    eventsTable: env('TABLE_EVENTS'),
    // Each peer's own replication and events tables, read cross-region (peerWatermarks).
    peers: peersOf(topology, region).map((peer) =>
      peerWatermarks({
        region: peer,
        client: documentClient(peer),
        replicationTable: tables.replication,
        eventsTable: tables.events,
      }),
    ),
    record(report) {
      for (const [type, totals] of Object.entries(report.types)) {
        const single = metrics.singleMetric();
        single.addDimension('aggregateType', type);
        single.addMetric('ArchivedEvents', MetricUnit.Count, totals.archived);
      }
      metrics.addMetric('ArchiveFailures', MetricUnit.Count, report.failures.length);
      for (const failure of report.failures) logger.warn('aggregate not archived', failure);
      logger.info('archive pass', {
        types: report.types,
        failures: report.failures.length,
        ...(report.resumedFrom ? { resumedFrom: report.resumedFrom } : {}),
        // Cut short before the timeout: the next scheduled run goes on from here.
        ...(report.stoppedAt ? { stoppedAt: report.stoppedAt } : {}),
      });
    },
  });
}

/** Scheduled daily per region (EventBridge): the retention archive pass of this region's core logs. */
export const handler = middy((event: unknown, context: Context) => {
  main ??= fromEnvironment();
  return main(event, context);
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
