import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { busName, queueName, regionEndpoints, sagaStateMachineArn, stateMachineArn } from '../naming.ts';
import { FUNCTION_ACCESS } from './access-table.ts';
import { type ApplierRedrive, applierRedrive } from './applier-redrive.ts';
import { FUNCTION_NAMES, FUNCTION_SETTINGS, type FunctionName, NO_DLQ_REASON } from './function-defaults.ts';
import { accessStatements } from './grants.ts';
import { HandlerFunction } from './handler-function.ts';
import { acknowledge } from './nag.ts';
import { failureQueue } from './queue-defaults.ts';
import type { Tables } from './tables.ts';

export interface CellFunctionsProps {
  readonly topology: Topology;
  readonly region: string;
  readonly tables: Tables;
  /** The application config module the handlers are bundled with (required when bundling). */
  readonly applicationModule?: string;
}

/** Stream settings: without them a poison record blocks its shard for up to 24 h (unbounded retries). */
export const PUBLISHER_STREAM = {
  batchSize: 100,
  maxBatchingWindow: Duration.millis(0),
  retryAttempts: 5,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  // One batch per shard at a time: events of one aggregate reach the bus in the order they were written.
  parallelizationFactor: 1,
} as const;

/**
 * The handlers of a cell with the environment contract every handler reads, their least-privilege grants
 * (the rows of `access-table.ts`), the publisher's stream source, the lag monitor's and the watchdog's
 * schedules.
 */
export class CellFunctions extends Construct {
  public readonly byName: Readonly<Record<FunctionName, nodejs.NodejsFunction>>;
  /** Stream batches the publisher gave up on (metadata pointing at the shard range, not the records). */
  public readonly publisherFailures: sqs.Queue;
  /** Asynchronous applier invocations that failed after Lambda's own retries (redriven to the applier). */
  public readonly applierFailures: sqs.Queue;
  /** applier-failures, its mapping back to the applier and its final dead-letter queue. */
  public readonly applierRedrive: ApplierRedrive;
  /** The environment every function of the cell is deployed with (identity, tables, bus, endpoints). */
  public readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: CellFunctionsProps) {
    super(scope, id);
    const { topology, region, tables, applicationModule } = props;
    const environment = {
      MULTIACTIVE_ENV: topology.name,
      MULTIACTIVE_REGION: region,
      ...tables.environment(),
      EVENT_BUS_NAME: busName(topology.name),
      REGION_ENDPOINTS: JSON.stringify(regionEndpoints(topology)),
      SAGA_STATE_MACHINE_ARN: sagaStateMachineArn(topology, region),
    };
    this.environment = environment;
    const byName = {} as Record<FunctionName, nodejs.NodejsFunction>;
    for (const name of FUNCTION_NAMES) {
      byName[name] = new HandlerFunction(this, name, {
        env: topology.name,
        region,
        name,
        environment,
        ...(applicationModule ? { applicationModule } : {}),
      }).fn;
    }
    this.byName = byName;

    this.publisherFailures = failureQueue(
      this,
      'PublisherFailures',
      queueName(topology.name, 'publisher-failures'),
    );
    this.wirePublisher(tables.byKind.events);
    // A real-time delivery that *fails* is retried by Lambda (2 retries is its maximum), not by the apply
    // rule's DELIVERY_RETRY; then it goes to applier-failures, which redrives it (applierRedrive).
    this.applierRedrive = applierRedrive(this, {
      env: topology.name,
      applier: byName.applier,
      applierTimeout: FUNCTION_SETTINGS.applier.timeout,
    });
    this.applierFailures = this.applierRedrive.queue;
    byName.applier.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.applierFailures),
    });
    this.scheduleLagMonitor();
    this.wireDetection(topology, region);
    this.grantAccess(topology, region);
  }

  /**
   * The health function (its own API route and throttle, optionally reserved concurrency, so no flood on
   * /v1 starves it) and the watchdog, scheduled every minute, which starts this region's Failover runbook.
   */
  private wireDetection(topology: Topology, region: string): void {
    const { health, watchdog } = this.byName;
    watchdog.addEnvironment('FAILOVER_STATE_MACHINE_ARN', stateMachineArn(topology, region, 'Failover'));
    const reserved = topology.api.healthReservedConcurrency;
    if (reserved !== undefined) {
      (health.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = reserved;
    }
    const rule = new events.Rule(this, 'WatchdogSchedule', {
      ruleName: `multiactive-${topology.name}-watchdog`,
      description: 'Failure detection: the watchdog ticks through every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A missed run is replaced by the next one a minute later: no retries, no dead letters.
      targets: [new targets.LambdaFunction(watchdog, { retryAttempts: 0 })],
    });
    acknowledge(rule, 'Serverless-EventBusDLQ', NO_DLQ_REASON.watchdog);
  }

  private wirePublisher(eventsTable: dynamodb.ITable): void {
    const publisher = this.byName.publisher;
    publisher.addEventSource(
      new DynamoEventSource(eventsTable, {
        ...PUBLISHER_STREAM,
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        onFailure: new SqsDlq(this.publisherFailures),
      }),
    );
  }

  /** Heartbeats must flow even when no user writes do, or lag could not be told from silence. */
  private scheduleLagMonitor(): void {
    const rule = new events.Rule(this, 'LagMonitorSchedule', {
      description: 'Heartbeat and replication lag, every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A missed tick is replaced by the next one a minute later: no retries, no dead letters.
      targets: [new targets.LambdaFunction(this.byName['lag-monitor'], { retryAttempts: 0 })],
    });
    acknowledge(rule, 'Serverless-EventBusDLQ', NO_DLQ_REASON['lag-monitor']);
  }

  /** The access table's rows for every function (tables and buses of this and other regions). */
  private grantAccess(topology: Topology, region: string): void {
    for (const name of FUNCTION_NAMES) {
      for (const statement of accessStatements(topology, region, FUNCTION_ACCESS[name])) {
        this.byName[name].addToRolePolicy(statement);
      }
    }
  }
}
