import type { ReplicationMetrics } from '../../replication/index.ts';
import type { LocalMetrics } from './metrics.ts';

/** Namespace the handlers' Powertools metrics go to (POWERTOOLS_METRICS_NAMESPACE of every function). */
export const HANDLER_NAMESPACE = 'multiactive';

/**
 * The replication metrics of a function as its Powertools EMF would put them: one dimension set,
 * `service` (the function's POWERTOOLS_SERVICE_NAME, `multiactive-<function>`) plus `From`/`To` for lag.
 */
export function localReplicationMetrics(metrics: LocalMetrics, service: string): ReplicationMetrics {
  return {
    quarantined() {
      metrics.put({ namespace: HANDLER_NAMESPACE, name: 'QuarantinedEvents', dimensions: { service } }, 1);
    },
    conflictsDetected(count) {
      metrics.put(
        { namespace: HANDLER_NAMESPACE, name: 'ConflictsDetected', dimensions: { service } },
        count,
      );
    },
    laneFallback(_reason, events) {
      metrics.put(
        { namespace: HANDLER_NAMESPACE, name: 'LaneFallbackEvents', dimensions: { service } },
        events,
      );
    },
    lag(from, to, lagMs) {
      metrics.put(
        {
          namespace: HANDLER_NAMESPACE,
          name: 'ReplicationLagMs',
          dimensions: { service, From: from, To: to },
        },
        lagMs,
      );
    },
  };
}

/** Wraps a local function so that each invocation that throws counts in `AWS/Lambda Errors`. */
export function countingErrors<A extends unknown[], R>(
  metrics: LocalMetrics,
  functionName: string,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  const metric = { namespace: 'AWS/Lambda', name: 'Errors', dimensions: { FunctionName: functionName } };
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (error) {
      metrics.put(metric, 1);
      throw error;
    }
  };
}
