import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { peersOf, type Topology } from '../../lib/config/index.ts';
import { EVENTS_BY_PARTITION_INDEX, tableName } from '../../lib/store/tables.ts';
import { busName, regionEndpoints, stateMachineArn, tableArn } from '../naming.ts';
import { FUNCTION_NAMES, type FunctionName, NO_DLQ_REASON } from './function-defaults.ts';
import { HandlerFunction } from './handler-function.ts';
import { acknowledge, nagArnToken } from './nag.ts';
import { failureQueue } from './queue-defaults.ts';
import type { Tables } from './tables.ts';

export interface CellFunctionsProps {
  readonly topology: Topology;
  readonly region: string;
  readonly tables: Tables;
  readonly bus: events.IEventBus;
  /** The environment's internal key (peer tokens, replication event signatures). */
  readonly internalKey: secretsmanager.ISecret;
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
 * The five handlers of a cell with the environment contract every handler reads, their least-privilege
 * grants, the publisher's stream source and the lag monitor's schedule.
 */
export class CellFunctions extends Construct {
  public readonly byName: Readonly<Record<FunctionName, nodejs.NodejsFunction>>;
  /** Stream batches the publisher gave up on (metadata pointing at the shard range, not the records). */
  public readonly publisherFailures: sqs.Queue;
  /** Asynchronous applier invocations that failed after Lambda's own retries. */
  public readonly applierFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: CellFunctionsProps) {
    super(scope, id);
    const { topology, region, tables, bus } = props;
    const environment = {
      MULTIACTIVE_ENV: topology.name,
      MULTIACTIVE_REGION: region,
      ...tables.environment(),
      EVENT_BUS_NAME: busName(topology.name),
      REGION_ENDPOINTS: JSON.stringify(regionEndpoints(topology)),
    };
    const byName = {} as Record<FunctionName, nodejs.NodejsFunction>;
    for (const name of FUNCTION_NAMES) {
      byName[name] = new HandlerFunction(this, name, { env: topology.name, name, environment }).fn;
    }
    this.byName = byName;

    this.publisherFailures = failureQueue(this, 'PublisherFailures');
    this.applierFailures = failureQueue(this, 'ApplierFailures');
    this.wirePublisher(tables.byKind.events, bus);
    byName.applier.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.applierFailures),
    });
    this.scheduleLagMonitor();
    this.grantTables(tables);
    // grant*Data adds `<table>/index/*` for tables with indexes; the events table's one index is the
    // byPartition index that repair and the API query, so the wildcard names exactly that one index.
    for (const fn of Object.values(byName)) {
      acknowledge(
        fn,
        `AwsSolutions-IAM5[Resource::${nagArnToken(tables.byKind.events)}/index/*]`,
        'Grants on the events table include its indexes; it has a single index (byPartition), used by repair and queries.',
      );
    }
    this.grantPeerTables(topology, region);
    bus.grantPutEventsTo(byName['lag-monitor']);
    this.wireDetection(topology, region, tables);
    // Peer tokens (api), event signatures (publisher, runbook replays) and their checks (applier).
    for (const name of ['api', 'publisher', 'applier', 'runbook'] as const) {
      props.internalKey.grantRead(byName[name]);
    }
  }

  /**
   * The health function (a store probe, the traffic state from the control quorum, lag for the report)
   * and the watchdog (scheduled each minute; observations and the failover claim in every region's
   * control table, this region's watermarks, StartExecution of this region's Failover runbook).
   */
  private wireDetection(topology: Topology, region: string, tables: Tables): void {
    const { health, watchdog } = this.byName;
    const { control, replication, quarantine } = tables.byKind;
    control.grantReadWriteData(health);
    for (const table of [replication, quarantine]) table.grantReadData(health);
    control.grantReadWriteData(watchdog);
    replication.grantReadData(watchdog);
    const peerControl = peersOf(topology, region).map((peer) =>
      tableArn(topology, peer, tableName(topology.name, 'control')),
    );
    for (const fn of [health, watchdog]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: peerControl,
        }),
      );
    }
    const failover = stateMachineArn(topology, region, 'Failover');
    watchdog.addEnvironment('FAILOVER_STATE_MACHINE_ARN', failover);
    watchdog.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [failover] }),
    );
    const reserved = topology.api.healthReservedConcurrency;
    if (reserved !== undefined) {
      (health.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = reserved;
    }
    const rule = new events.Rule(this, 'WatchdogSchedule', {
      ruleName: `multiactive-${topology.name}-watchdog`,
      description: 'Failure detection: the watchdog ticks through every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(watchdog, { retryAttempts: 0 })],
    });
    acknowledge(rule, 'Serverless-EventBusDLQ', NO_DLQ_REASON.watchdog);
  }

  private wirePublisher(eventsTable: dynamodb.ITable, bus: events.IEventBus): void {
    const publisher = this.byName.publisher;
    publisher.addEventSource(
      new DynamoEventSource(eventsTable, {
        ...PUBLISHER_STREAM,
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        onFailure: new SqsDlq(this.publisherFailures),
      }),
    );
    bus.grantPutEventsTo(publisher);
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

  private grantTables(tables: Tables): void {
    const { api, applier, runbook, publisher } = this.byName;
    const lagMonitor = this.byName['lag-monitor'];
    const { events: log, state, replication, control, quarantine, idempotency } = tables.byKind;
    // control: the API claims new partitions and writes back quorum reads (its own copy and the peers').
    for (const table of [log, state, idempotency, control]) table.grantReadWriteData(api);
    // replication and quarantine: watermarks, lag and counts for read-your-writes, degrade and /health.
    for (const table of [replication, quarantine]) table.grantReadData(api);
    for (const table of [log, state, replication, quarantine]) table.grantReadWriteData(applier);
    control.grantReadData(applier);
    // replication: the publisher holds the events it fails to publish, the heartbeats announce the oldest.
    replication.grantReadWriteData(publisher);
    log.grantWriteData(lagMonitor);
    for (const table of [replication, control]) table.grantReadData(lagMonitor);
    for (const table of [log, state, replication, control, quarantine]) table.grantReadWriteData(runbook);
  }

  /**
   * Control state is written to and read from a majority of regions (DESIGN.md section 4), and repair
   * compares this region's events with a peer's; peers' tables are addressed by their known names.
   */
  private grantPeerTables(topology: Topology, region: string): void {
    const peers = peersOf(topology, region);
    const arns = (kind: 'events' | 'state' | 'replication' | 'control') =>
      peers.map((peer) => tableArn(topology, peer, tableName(topology.name, kind)));
    const read = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
    const write = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'];
    const peerEvents = arns('events');
    this.byName.api.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...read, ...write], resources: arns('control') }),
    );
    this.byName.runbook.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...read, ...write], resources: arns('control') }),
    );
    this.byName.runbook.addToRolePolicy(
      new iam.PolicyStatement({
        actions: read,
        resources: [
          ...peerEvents,
          ...peerEvents.map((arn) => `${arn}/index/${EVENTS_BY_PARTITION_INDEX}`),
          ...arns('replication'),
        ],
      }),
    );
    // Repair and Failback settle a forked core log in every region: the home's branch delivered into the
    // log, a losing branch queued in each region's conflict queue then deleted, rows read and rebuilt.
    this.byName.runbook.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...read, 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
        resources: [...peerEvents, ...arns('state'), ...arns('replication')],
      }),
    );
    if (topology.core.ack !== 'quorum') return;
    // core.ack 'quorum': the API copies core writes into the peers' logs (one transaction: the events, a
    // check of the peer's partition entry, a marker in its replication table) and reads a lagging peer's
    // log; Failover's CollectCopies does the same from the runbook (its grants are above).
    const copy = ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query'];
    this.byName.api.addToRolePolicy(
      new iam.PolicyStatement({
        actions: copy,
        resources: [...peerEvents, ...arns('replication')],
      }),
    );
  }
}
