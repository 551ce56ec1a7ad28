import type { AlarmSpec, Statistic } from './alarms.ts';
import type { LocalMetrics } from './metrics.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** Alarms are regional: the same name in two regions is two alarms. */
const alarmKey = (alarm: AlarmSpec) => `${alarm.region}/${alarm.name}`;

/** An alarm's state change, as CloudWatch reports it. */
export interface AlarmChange {
  readonly alarm: AlarmSpec;
  readonly state: AlarmState;
  readonly previous: AlarmState;
  readonly reason: string;
  readonly at: number;
}

function aggregate(values: readonly number[], statistic: Statistic): number {
  switch (statistic) {
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'SampleCount':
      return values.length;
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

function breaches(alarm: AlarmSpec, value: number): boolean {
  switch (alarm.comparison) {
    case 'GreaterThanThreshold':
      return value > alarm.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.threshold;
    case 'LessThanThreshold':
      return value < alarm.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= alarm.threshold;
  }
}

/**
 * The state an alarm evaluates to at `end`: the last `evaluationPeriods` periods (of `periodMs`, the
 * alarm's period times the sandbox's time scale), each reduced by the alarm's statistic; a missing period
 * counts as `treatMissingData` says; ALARM when at least `datapointsToAlarm` of them breach.
 */
export function evaluateAlarm(
  alarm: AlarmSpec,
  metrics: LocalMetrics,
  window: { readonly end: number; readonly periodMs: number; readonly current: AlarmState },
): { state: AlarmState; reason: string } {
  const { end, periodMs, current } = window;
  let breaching = 0;
  let missing = 0;
  for (let i = 0; i < alarm.evaluationPeriods; i++) {
    const metric = { ...alarm.metric, region: alarm.region };
    const values = metrics.values(metric, end - (i + 1) * periodMs, end - i * periodMs);
    if (values.length === 0) {
      missing++;
      if (alarm.treatMissingData === 'breaching') breaching++;
      continue;
    }
    if (breaches(alarm, aggregate(values, alarm.statistic))) breaching++;
  }
  const reason = `${breaching} of the last ${alarm.evaluationPeriods} periods breached (${missing} without data); ${alarm.datapointsToAlarm} needed`;
  if (breaching >= alarm.datapointsToAlarm) return { state: 'ALARM', reason };
  if (missing === alarm.evaluationPeriods) {
    if (alarm.treatMissingData === 'missing') return { state: 'INSUFFICIENT_DATA', reason };
    if (alarm.treatMissingData === 'ignore') return { state: current, reason };
  }
  return { state: 'OK', reason };
}

export interface AlarmEvaluatorOptions {
  readonly alarms: readonly AlarmSpec[];
  readonly metrics: LocalMetrics;
  /** Multiplies every alarm period (the sandbox's `awsTimeScale`). */
  readonly timeScale: number;
  /** Called before each evaluation round (gauges such as queue depths put their datapoints). */
  readonly sample?: () => void;
  readonly onChange?: (change: AlarmChange) => void;
  readonly now?: () => number;
}

/**
 * Evaluates the synthesized alarms on the sandbox's metrics at the end of each of their (scaled)
 * periods, like CloudWatch, and reports every state change.
 */
export class AlarmEvaluator {
  private readonly states = new Map<string, AlarmState>();
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  readonly changes: AlarmChange[] = [];

  constructor(private readonly options: AlarmEvaluatorOptions) {
    this.now = options.now ?? Date.now;
    for (const alarm of options.alarms) this.states.set(alarmKey(alarm), 'INSUFFICIENT_DATA');
  }

  /** Starts evaluating: each alarm first one period from now. */
  start(): void {
    const start = this.now();
    for (const alarm of this.options.alarms) this.due.set(alarmKey(alarm), start + this.periodMs(alarm));
    const shortest = Math.min(...this.options.alarms.map((a) => this.periodMs(a)), 60_000);
    this.timer = setInterval(() => this.evaluateDue(), Math.max(50, shortest / 4));
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every alarm's current state, by `<region>/<name>` (a cell's alarms have the same names in every region). */
  snapshot(): Record<string, AlarmState> {
    return Object.fromEntries(this.states);
  }

  /** Evaluates the alarms whose period ended. */
  evaluateDue(): void {
    const now = this.now();
    const due = this.options.alarms.filter(
      (a) => (this.due.get(alarmKey(a)) ?? Number.POSITIVE_INFINITY) <= now,
    );
    if (due.length === 0) return;
    this.options.sample?.();
    for (const alarm of due) {
      const key = alarmKey(alarm);
      const end = this.due.get(key) as number;
      this.due.set(key, end + this.periodMs(alarm));
      const previous = this.states.get(key) ?? 'INSUFFICIENT_DATA';
      const { state, reason } = evaluateAlarm(alarm, this.options.metrics, {
        end,
        periodMs: this.periodMs(alarm),
        current: previous,
      });
      if (state === previous) continue;
      this.states.set(key, state);
      const change = { alarm, state, previous, reason, at: now };
      this.changes.push(change);
      this.options.onChange?.(change);
    }
  }

  private periodMs(alarm: AlarmSpec): number {
    return alarm.periodSeconds * 1_000 * this.options.timeScale;
  }
}
