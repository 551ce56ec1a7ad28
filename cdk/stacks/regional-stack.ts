import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { CellAlarms } from '../constructs/cell-alarms.ts';
import { CellApi } from '../constructs/cell-api.ts';
import { CellFunctions } from '../constructs/cell-functions.ts';
import { InternalKey } from '../constructs/internal-key.ts';
import { ReplicationBus } from '../constructs/replication-bus.ts';
import { RepairSchedule, repairScheduleOf } from '../constructs/runbooks/repair-schedule.ts';
import { Runbooks } from '../constructs/runbooks/runbooks.ts';
import { Tables } from '../constructs/tables.ts';
import { RUNBOOK_NAMES } from '../naming.ts';

export interface RegionalStackProps extends StackProps {
  readonly topology: Topology;
  readonly region: string;
}

/**
 * One identical cell: tables, handlers, replication bus, HTTP API, runbooks, the watchdog that starts a
 * lost peer's Failover, and alarms.
 */
export class RegionalStack extends Stack {
  public readonly tables: Tables;
  public readonly functions: CellFunctions;
  public readonly replication: ReplicationBus;
  public readonly api: CellApi;
  public readonly runbooks: Runbooks;
  /** The nightly Repair, in the one region `repair.scheduleRegion` names (default: the first). */
  public readonly repairSchedule: RepairSchedule | undefined;
  public readonly alarms: CellAlarms;
  public readonly internalKey: InternalKey;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    const { topology, region } = props;
    super(scope, id, { ...props, env: { account: topology.account, region } });

    this.tables = new Tables(this, 'Tables', { topology });
    this.replication = new ReplicationBus(this, 'Replication', { topology, region });
    this.internalKey = new InternalKey(this, 'InternalKey', { topology, region });
    this.functions = new CellFunctions(this, 'Functions', {
      topology,
      region,
      tables: this.tables,
      bus: this.replication.bus,
      internalKey: this.internalKey.secret,
    });
    this.replication.deliverToApplier(this.functions.byName.applier, region, topology.name);
    this.api = new CellApi(this, 'Api', {
      topology,
      region,
      handler: this.functions.byName.api,
      health: this.functions.byName.health,
    });
    this.runbooks = new Runbooks(this, 'Runbooks', { env: topology.name, fn: this.functions.byName.runbook });
    this.repairSchedule =
      repairScheduleOf(topology)?.region === region
        ? new RepairSchedule(this, 'RepairSchedule', { topology, repair: this.runbooks.byName.Repair })
        : undefined;
    this.alarms = new CellAlarms(this, 'Alarms', {
      topology,
      region,
      functions: this.functions,
      replication: this.replication,
      api: this.api,
      rehomeRunbooks: {
        Switchover: this.runbooks.byName.Switchover,
        Failback: this.runbooks.byName.Failback,
      },
    });

    new CfnOutput(this, 'RegionalUrl', { value: this.api.regionalUrl });
    new CfnOutput(this, 'BusArn', { value: this.replication.bus.eventBusArn });
    for (const name of RUNBOOK_NAMES) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: this.runbooks.byName[name].stateMachineArn });
    }
  }
}
