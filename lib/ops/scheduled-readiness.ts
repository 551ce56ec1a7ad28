import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { evaluateReadiness, type ReadinessReport, type ReadinessSnapshot } from './readiness.ts';

/** The metric readiness publishes on every evaluation: 1 ready for a failover, 0 not. */
export const READINESS_METRIC = 'Readiness';
/** How many checks failed in that evaluation (0 when ready). */
export const READINESS_FAILED_CHECKS_METRIC = 'ReadinessFailedChecks';

/** Where an evaluation's result goes: CloudWatch (EMF) in AWS, the sandbox's metrics locally. */
export interface ReadinessMetrics {
  record(report: ReadinessReport): void;
}

/**
 * One scheduled evaluation (plan evaluation every minute, as Route 53 ARC's readiness checks): the same
 * snapshot and checks as `multiactive readiness`, then the Readiness metric its alarm watches. A
 * snapshot that cannot be taken throws and publishes nothing, which the alarm counts as not ready.
 * @example await evaluateOnSchedule({ snapshot: () => awsReadinessSnapshot(topology, clients, names), metrics })
 */
export async function evaluateOnSchedule(deps: {
  readonly snapshot: () => Promise<ReadinessSnapshot>;
  readonly metrics: ReadinessMetrics;
  readonly now?: () => Date;
}): Promise<ReadinessReport> {
  const snapshot = await deps.snapshot();
  const report = evaluateReadiness(snapshot, deps.now?.() ?? new Date());
  deps.metrics.record(report);
  return report;
}

/** The readiness metrics as Powertools EMF, with the function's `service` dimension only. */
export function powertoolsReadinessMetrics(metrics: Metrics): ReadinessMetrics {
  return {
    record(report) {
      metrics.addMetric(READINESS_METRIC, MetricUnit.Count, report.ready ? 1 : 0);
      metrics.addMetric(
        READINESS_FAILED_CHECKS_METRIC,
        MetricUnit.Count,
        report.checks.filter((c) => !c.ok).length,
      );
    },
  };
}
