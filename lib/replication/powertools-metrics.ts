import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ReplicationMetrics } from './ports.ts';

/**
 * The replication metrics as Powertools EMF. CloudWatch alarms match an exact dimension set:
 * `QuarantinedEvents` and `ConflictsDetected` carry only `service`; `ReplicationLagMs` also `From`, `To`
 * (a single-metric so those dimensions do not leak onto the others).
 */
export function powertoolsReplicationMetrics(metrics: Metrics): ReplicationMetrics {
  return {
    quarantined() {
      metrics.addMetric('QuarantinedEvents', MetricUnit.Count, 1);
    },
    conflictsDetected(count) {
      metrics.addMetric('ConflictsDetected', MetricUnit.Count, count);
    },
    laneFallback(_reason, events) {
      metrics.addMetric('LaneFallbackEvents', MetricUnit.Count, events);
    },
    lag(from, to, lagMs) {
      const single = metrics.singleMetric();
      single.addDimensions({ From: from, To: to });
      single.addMetric('ReplicationLagMs', MetricUnit.Milliseconds, lagMs);
    },
  };
}
