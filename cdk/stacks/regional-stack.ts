import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { hasRetention } from '../../lib/lifecycle/archive-bucket.ts';
import { CellAlarms } from '../constructs/cell-alarms.ts';
import { CellApi } from '../constructs/cell-api.ts';
import { CellArchive } from '../constructs/cell-archive.ts';
import { CellDashboard } from '../constructs/cell-dashboard.ts';
import { CellFunctions } from '../constructs/cell-functions.ts';
import { FUNCTION_SETTINGS } from '../constructs/function-defaults.ts';
import { OrdinaryLane } from '../constructs/ordinary-lane.ts';
import { ReadinessSchedule } from '../constructs/readiness.ts';
import { ReplicationBus } from '../constructs/replication-bus.ts';
import { RepairSchedule, repairScheduleOf } from '../constructs/runbooks/repair-schedule.ts';
import { Runbooks } from '../constructs/runbooks/runbooks.ts';
import { Sagas } from '../constructs/sagas/sagas.ts';
import { TableBackups } from '../constructs/table-backups.ts';
import { Tables } from '../constructs/tables.ts';
import { RUNBOOK_NAMES } from '../naming.ts';

export interface RegionalStackProps extends StackProps {
  readonly topology: Topology;
  readonly region: string;
  /** The application config module the handlers are bundled with (required when bundling). */
  readonly applicationModule?: string;
}

/** Visible lane messages, three minutes in a row, that mean the lane no longer keeps up (100 full batches). */
const LANE_BACKLOG_ALARM = 10_000;

/**
 * One identical cell: tables, handlers, the rules on the replication bus, HTTP API, runbooks, the watchdog
 * that starts a lost peer's Failover, alarms and a dashboard.
 */
export class RegionalStack extends Stack {
  public readonly tables: Tables;
  /** AWS Backup of the tables with a copy in another region (`tables.backup`; none when null). */
  public readonly backups: TableBackups | undefined;
  public readonly functions: CellFunctions;
  /** The retention archive (bucket, archiver, schedule), only when some aggregate type has `retentionDays`. */
  public readonly archive: CellArchive | undefined;
  public readonly replication: ReplicationBus;
  /** The batched apply lane of the ordinary tier (none when off or when no aggregate is ordinary). */
  public readonly ordinaryLane: OrdinaryLane | undefined;
  public readonly api: CellApi;
  public readonly runbooks: Runbooks;
  /** The Saga machine (transfers) and its recovery sweep. */
  public readonly sagas: Sagas;
  /** The nightly Repair, in the one region `repair.scheduleRegion` names (default: the first). */
  public readonly repairSchedule: RepairSchedule | undefined;
  public readonly alarms: CellAlarms;
  /** Readiness of the environment evaluated from this cell every minute, and its alarm. */
  public readonly readiness: ReadinessSchedule;
  public readonly dashboard: CellDashboard;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    const { topology, region } = props;
    super(scope, id, { ...props, env: { account: topology.account, region } });

    this.tables = new Tables(this, 'Tables', { topology });
    const backup = topology.tables.backup;
    this.backups = backup
      ? new TableBackups(this, 'Backups', { topology, region, backup, tables: this.tables })
      : undefined;
    this.replication = new ReplicationBus(this, 'Replication', { topology, region });
    this.functions = new CellFunctions(this, 'Functions', {
      topology,
      region,
      tables: this.tables,
      ...(props.applicationModule ? { applicationModule: props.applicationModule } : {}),
    });
    const { api, saga, runbook } = this.functions.byName;
    // The API and saga function read a peer's archive only for a quorum-peer retire (core.ack quorum).
    const commandReaders = topology.core.ack === 'quorum' ? 'all' : 'local';
    this.archive = hasRetention(topology)
      ? new CellArchive(this, 'Archive', {
          topology,
          region,
          environment: this.functions.environment,
          readers: [
            { fn: runbook, regions: 'all' },
            { fn: api, regions: commandReaders },
            { fn: saga, regions: commandReaders },
          ],
          ...(props.applicationModule ? { applicationModule: props.applicationModule } : {}),
        })
      : undefined;
    const ordinaryTypes = topology.aggregates.filter((a) => a.tier === 'ordinary').map((a) => a.type);
    const { enabled, draining } = topology.ordinaryLane;
    // Draining keeps the queue and its mapping (even with no ordinary type left) until it is empty.
    const laneKept = enabled && (ordinaryTypes.length > 0 || draining);
    const laneOn = laneKept && !draining && ordinaryTypes.length > 0;
    const applyRule = this.replication.deliverToApplier(this.functions.byName.applier, {
      region,
      env: topology.name,
      ...(laneOn ? { batched: ordinaryTypes, lane: true } : {}),
    });
    this.ordinaryLane = laneKept
      ? new OrdinaryLane(this, 'OrdinaryLane', {
          env: topology.name,
          region,
          bus: this.replication.bus,
          applier: this.functions.byName.applier,
          applierTimeout: FUNCTION_SETTINGS.applier.timeout,
          aggregateTypes: ordinaryTypes,
          config: topology.ordinaryLane,
          routing: laneOn,
          ruleDeadLetters: this.replication.applyDeadLetters,
        })
      : undefined;
    // The real-time rule leaves out the stamped ordinary events only once the lane rule that takes them
    // exists: in between, EventBridge would discard an event no rule matches (a deploy turning the lane on).
    // Turning it off (draining) removes the lane rule in the cleanup phase, after the real-time rule widens.
    if (this.ordinaryLane?.rule) applyRule.node.addDependency(this.ordinaryLane.rule);
    this.api = new CellApi(this, 'Api', {
      topology,
      region,
      handler: this.functions.byName.api,
      health: this.functions.byName.health,
    });
    this.runbooks = new Runbooks(this, 'Runbooks', {
      env: topology.name,
      fn: this.functions.byName.runbook,
      logExecutionData: topology.monitoring.logExecutionData,
    });
    this.sagas = new Sagas(this, 'Sagas', { topology, fn: this.functions.byName.saga });
    this.repairSchedule =
      repairScheduleOf(topology)?.region === region
        ? new RepairSchedule(this, 'RepairSchedule', { topology, repair: this.runbooks.byName.Repair })
        : undefined;
    const deadLetterQueues: Array<readonly [string, sqs.IQueue]> = [
      ['publisher-failures', this.functions.publisherFailures],
      ['applier-failures-dead-letters', this.functions.applierRedrive.deadLetters],
      ['apply-dead-letters', this.replication.applyDeadLetters],
      ['forward-dead-letters', this.replication.forwardDeadLetters],
    ];
    if (this.ordinaryLane)
      deadLetterQueues.push(['ordinary-lane-dead-letters', this.ordinaryLane.deadLetters]);
    if (this.repairSchedule)
      deadLetterQueues.push(['repair-schedule-dead-letters', this.repairSchedule.deadLetters]);
    const observed = {
      topology,
      region,
      functions: this.functions,
      api: this.api,
      tables: this.tables,
      runbooks: this.runbooks,
      sagas: this.sagas,
      deadLetterQueues,
      ...(this.ordinaryLane
        ? { laneQueue: { queue: this.ordinaryLane.queue, backlog: LANE_BACKLOG_ALARM } }
        : {}),
    };
    this.alarms = new CellAlarms(this, 'Alarms', observed);
    this.readiness = new ReadinessSchedule(this, 'Readiness', {
      topology,
      region,
      fn: this.functions.byName.readiness,
      topic: this.alarms.topic,
    });
    this.alarms.alarms.push(this.readiness.alarm);
    this.dashboard = new CellDashboard(this, 'Dashboard', { ...observed, alarms: this.alarms.alarms });

    new CfnOutput(this, 'RegionalUrl', { value: this.api.regionalUrl });
    for (const name of RUNBOOK_NAMES) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: this.runbooks.byName[name].stateMachineArn });
    }
    new CfnOutput(this, 'SagaStateMachineArn', { value: this.sagas.machine.stateMachineArn });
  }
}
