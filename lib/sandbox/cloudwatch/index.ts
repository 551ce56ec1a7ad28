export { type AlarmSpec, alarmsOf, type Comparison, type MissingData, type Statistic } from './alarms.ts';
export {
  type AlarmChange,
  AlarmEvaluator,
  type AlarmEvaluatorOptions,
  type AlarmState,
  evaluateAlarm,
} from './evaluator.ts';
export { LocalMetrics, type MetricId, metricKey } from './metrics.ts';
export { countingErrors, HANDLER_NAMESPACE, localReplicationMetrics } from './producers.ts';
export { type QueueDepth, type QueueSampleInput, queueSamples } from './queue-metrics.ts';
