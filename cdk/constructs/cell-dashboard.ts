import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { peersOf, type Topology } from '../../lib/config/index.ts';
import { TABLE_KINDS } from '../../lib/store/tables.ts';
import { RUNBOOK_NAMES } from '../naming.ts';
import type { CellApi } from './cell-api.ts';
import type { CellFunctions } from './cell-functions.ts';
import { FUNCTION_NAMES } from './function-defaults.ts';
import { conflictsMetric, labelled, quarantineMetric, replicationLagMetric } from './metrics.ts';
import type { Runbooks } from './runbooks/runbooks.ts';
import type { Tables } from './tables.ts';

export interface CellDashboardProps {
  readonly topology: Topology;
  readonly region: string;
  readonly functions: CellFunctions;
  readonly api: CellApi;
  readonly tables: Tables;
  readonly runbooks: Runbooks;
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly deadLetterQueues: ReadonlyArray<
    readonly [string, { metricApproximateNumberOfMessagesVisible(): cloudwatch.Metric }]
  >;
}

const FIVE_MINUTES = Duration.minutes(5);
const WIDE = 12;

/**
 * `multiactive-<env>-<region>`: one cell at a glance. Alarm states first, then traffic (requests, 5xx,
 * latency), replication (lag from each peer, the publisher's iterator age, conflicts, quarantine), the
 * functions (errors, throttles), the tables (throttle events), dead-letter queues and runbook executions.
 */
export class CellDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CellDashboardProps) {
    super(scope, id);
    const { topology, region, functions, api, tables, runbooks } = props;
    const sum = { statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES };
    const fnMetrics = (pick: (name: (typeof FUNCTION_NAMES)[number]) => cloudwatch.IMetric) =>
      FUNCTION_NAMES.map(pick);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `multiactive-${topology.name}-${region}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph('API requests and 5xx', [api.httpApi.metricCount(sum), api.httpApi.metricServerError(sum)]),
      graph('API latency p99 (ms)', [api.httpApi.metricLatency({ statistic: 'p99', period: FIVE_MINUTES })]),
    );
    this.dashboard.addWidgets(
      graph(
        `Replication lag into ${region} (ms)`,
        peersOf(topology, region).map((peer) => labelled(replicationLagMetric(peer, region), peer)),
      ),
      graph('Publisher iterator age (ms), conflicts, quarantined', [
        functions.byName.publisher.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM }),
        labelled(conflictsMetric(region), 'conflicts'),
        labelled(quarantineMetric(region), 'quarantined'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors',
        fnMetrics((n) => functions.byName[n].metricErrors({ ...sum, label: n })),
      ),
      graph(
        'Function throttles',
        fnMetrics((n) => functions.byName[n].metricThrottles({ ...sum, label: n })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB throttle events',
        TABLE_KINDS.flatMap((kind) =>
          ['ReadThrottleEvents', 'WriteThrottleEvents'].map((name) =>
            tables.byKind[kind].metric(name, { ...sum, label: `${kind} ${name}` }),
          ),
        ),
      ),
      graph(
        'Dead-letter queues (messages)',
        props.deadLetterQueues.map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible().with({ label: name, period: FIVE_MINUTES }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Runbook executions failed / succeeded',
        RUNBOOK_NAMES.flatMap((name) => [
          runbooks.byName[name].metricFailed({ ...sum, label: `${name} failed` }),
          runbooks.byName[name].metricSucceeded({ ...sum, label: `${name} succeeded` }),
        ]),
      ),
      graph(
        'Runbook execution time (ms)',
        RUNBOOK_NAMES.map((name) =>
          runbooks.byName[name].metricTime({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: FIVE_MINUTES,
            label: name,
          }),
        ),
      ),
    );
  }
}

function graph(title: string, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: WIDE, height: 6 });
}
