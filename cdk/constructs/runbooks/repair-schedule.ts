import { Duration, TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Topology } from '../../../lib/config/index.ts';
import { regionNames } from '../../../lib/config/index.ts';
import { queueName } from '../../naming.ts';
import { failureQueue } from '../queue-defaults.ts';

/** The documented Repair input for a full run: every partition that holds an event, every region. */
export const NIGHTLY_REPAIR_INPUT = {} as const;

/** When and where the nightly Repair runs, or null when the topology asks for none (`repair.schedule: null`). */
export function repairScheduleOf(
  topology: Topology,
): { region: string; hour: number; minute: number } | null {
  const at = topology.repair.schedule;
  if (at === null) return null;
  const [hour, minute] = at.split(':').map(Number) as [number, number];
  return { region: topology.repair.scheduleRegion ?? regionNames(topology)[0]!, hour, minute };
}

export interface RepairScheduleProps {
  readonly topology: Topology;
  /** This region's Repair state machine. */
  readonly repair: sfn.IStateMachine;
}

/**
 * Starts the Repair runbook once a day at `repair.schedule` (UTC) with EventBridge Scheduler. A missed
 * start is retried for an hour, then kept in a dead-letter queue: a skipped night loses no data (repair
 * is anti-entropy and the next run catches up), but it should be seen. The target's role may only start
 * this one machine.
 */
export class RepairSchedule extends Construct {
  public readonly schedule: scheduler.Schedule;
  public readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: RepairScheduleProps) {
    super(scope, id);
    const when = repairScheduleOf(props.topology);
    if (!when) throw new Error('RepairSchedule needs repair.schedule in the topology');
    this.deadLetters = failureQueue(
      this,
      'DeadLetters',
      queueName(props.topology.name, 'repair-schedule-dead-letters'),
    );
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      scheduleName: `multiactive-${props.topology.name}-nightly-repair`,
      description: `Repair (anti-entropy) of every region, daily at ${props.topology.repair.schedule} UTC`,
      schedule: scheduler.ScheduleExpression.cron({
        minute: String(when.minute),
        hour: String(when.hour),
        timeZone: TimeZone.ETC_UTC,
      }),
      target: new targets.StepFunctionsStartExecution(props.repair, {
        input: scheduler.ScheduleTargetInput.fromObject(NIGHTLY_REPAIR_INPUT),
        retryAttempts: 5,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.deadLetters,
      }),
    });
  }
}
