import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Topology } from '../../lib/config/index.ts';
import { METRICS_NAMESPACE, queueName, type RunbookName, stateMachineArn } from '../naming.ts';
import { LAG_METRIC_SERVICE, QUARANTINE_METRIC_SERVICE } from './function-defaults.ts';

/**
 * Metrics addressed by name and region, so the per-cell dashboard and the global one (us-east-1, showing
 * every region) build the same series. Powertools emits EMF with one dimension set: `service`
 * (POWERTOOLS_SERVICE_NAME) first, then the dimensions the handler adds; CloudWatch matches the exact
 * set, so every metric here names all of them. They carry no label (an alarm on a labelled metric is
 * rendered as metric math); dashboards label them with `labelled`.
 */

/** The metric with a legend label, for a dashboard. */
export function labelled(metric: cloudwatch.Metric, label: string): cloudwatch.Metric {
  return metric.with({ label });
}

/** Lag of `to` behind `from`, as the lag monitor of `to` reports it (published in `to`). */
export function replicationLagMetric(from: string, to: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'ReplicationLagMs',
    dimensionsMap: { service: LAG_METRIC_SERVICE, From: from, To: to },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
    region: to,
  });
}

/** A count the applier of `region` publishes (5-minute sums). */
function applierCount(metricName: string, region: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: QUARANTINE_METRIC_SERVICE },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    region,
  });
}

/** Conflicts the applier of `region` detected (concurrent writes from different regions). */
export function conflictsMetric(region: string): cloudwatch.Metric {
  return applierCount('ConflictsDetected', region);
}

/** Events the applier of `region` quarantined. */
export function quarantineMetric(region: string): cloudwatch.Metric {
  return applierCount('QuarantinedEvents', region);
}

/** Messages waiting in a named dead-letter queue of `region`. */
export function queueDepthMetric(
  topology: Topology,
  region: string,
  purpose: string,
  metricName = 'ApproximateNumberOfMessagesVisible',
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SQS',
    metricName,
    dimensionsMap: { QueueName: queueName(topology.name, purpose) },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(5),
    region,
  });
}

/** Duration of a runbook's executions in `region` (Failover's is the decision part of the RTO). */
export function executionTimeMetric(
  topology: Topology,
  region: string,
  runbook: RunbookName,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/States',
    metricName: 'ExecutionTime',
    dimensionsMap: { StateMachineArn: stateMachineArn(topology, region, runbook) },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(5),
    region,
  });
}

/** Every dead-letter queue a cell may have, by purpose (the queue name's suffix). */
export const CELL_DEAD_LETTER_QUEUES = [
  'publisher-failures',
  'applier-failures',
  'applier-failures-dead-letters',
  'apply-dead-letters',
  'forward-dead-letters',
  'repair-schedule-dead-letters',
] as const;
