import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { peersOf, regionNames, type Topology } from '../../lib/config/index.ts';
import {
  CELL_DEAD_LETTER_QUEUES,
  conflictsMetric,
  executionTimeMetric,
  labelled,
  queueDepthMetric,
  replicationLagMetric,
} from './metrics.ts';

export interface GlobalDashboardProps {
  readonly topology: Topology;
  readonly healthChecks: Readonly<Record<string, route53.HealthCheck>>;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/**
 * `multiactive-<env>-global` (us-east-1): the whole topology, every series read from its own region.
 * Health per region, replication lag per link, the RTO drills (Failover and Switchover execution times per
 * region), conflicts per region and every dead-letter queue of every region (the GTM's included).
 */
export class GlobalDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: GlobalDashboardProps) {
    super(scope, id);
    const { topology } = props;
    const regions = regionNames(topology);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `multiactive-${topology.name}-global`,
      defaultInterval: Duration.hours(3),
    });
    const widget = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width: 12, height: 6 });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Health alarms',
        alarms: [...props.alarms],
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      widget(
        'Route 53 health check status (1 = healthy)',
        regions.map(
          (region) =>
            new cloudwatch.Metric({
              namespace: 'AWS/Route53',
              metricName: 'HealthCheckStatus',
              dimensionsMap: { HealthCheckId: props.healthChecks[region]!.healthCheckId },
              statistic: cloudwatch.Stats.MINIMUM,
              period: Duration.minutes(1),
              label: region,
            }),
        ),
      ),
      widget(
        'Replication lag per link (ms)',
        regions.flatMap((to) =>
          peersOf(topology, to).map((from) => labelled(replicationLagMetric(from, to), `${from} -> ${to}`)),
        ),
      ),
    );
    this.dashboard.addWidgets(
      widget(
        'RTO drills: Failover and Switchover execution time (ms)',
        regions.flatMap((region) => [
          labelled(executionTimeMetric(topology, region, 'Failover'), `Failover ${region}`),
          labelled(executionTimeMetric(topology, region, 'Switchover'), `Switchover ${region}`),
        ]),
      ),
      widget(
        'Conflicts detected',
        regions.map((region) => labelled(conflictsMetric(region), region)),
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues (messages), every region',
        left: [
          ...regions.flatMap((region) =>
            CELL_DEAD_LETTER_QUEUES.map((purpose) =>
              labelled(queueDepthMetric(topology, region, purpose), `${purpose} ${region}`),
            ),
          ),
          // applier-failures is redriven: its records wait in flight (backing off), not visible.
          ...regions.map((region) =>
            labelled(
              queueDepthMetric(topology, region, 'applier-failures', 'ApproximateNumberOfMessagesNotVisible'),
              `applier-failures in flight ${region}`,
            ),
          ),
        ],
        width: 24,
        height: 6,
      }),
    );
  }
}
