import { Duration } from 'aws-cdk-lib';
import type { RunbookName } from '../../naming.ts';

/** Per-task ceiling unless a task says otherwise; below the runbook function's own 5-minute timeout. */
export const TASK_TIMEOUT = Duration.seconds(60);

/** Tasks that hash or replay a whole partition may take as long as the function allows. */
export const LONG_TASK_TIMEOUT = Duration.minutes(5);

/**
 * Switchover waits until the target's watermark covers the source. The first CheckWatermark runs right
 * after the fence; each one polls inside the task (every 100 ms for up to 2 s, RunbookDeps.watermarkPoll),
 * so the common case, a source that confirms its fence and a target a few hundred ms behind, is decided in
 * one task. Between tasks the machine waits `intervalSeconds`, at most `maxAttempts` tasks (~5 minutes):
 * a target that cannot catch up in that time is lagging for a reason an operator should look at, so the
 * switchover rolls back instead of waiting forever.
 */
export const WATERMARK_POLL = { intervalSeconds: 2, maxAttempts: 75 } as const;

/**
 * Partitions repaired at once. In AWS an iteration is bound by cross-region round trips (list every
 * region's leaves, fetch, replay; ~0.2-0.3 s each between us-east-1 and ap-southeast-1), not by DynamoDB:
 * each reads one partition's keys per region, a small Query. Healing 10,000 missed events touches all
 * 256 partitions, so 8 at once would spend 32 rounds of round trips.
 */
export const REPAIR_MAX_CONCURRENCY = 32;

/** Upper bound of one execution; a stuck runbook fails loudly instead of holding fences for a year. */
export const EXECUTION_TIMEOUT: Readonly<Record<RunbookName, Duration>> = {
  Switchover: Duration.minutes(30),
  Failover: Duration.minutes(30),
  Failback: Duration.hours(6),
  Repair: Duration.hours(12),
  ResolveConflict: Duration.minutes(10),
};

/** `runbook` field of the task payload, as the runbook handler dispatches on it. */
export const RUNBOOK_IDS: Readonly<Record<RunbookName, string>> = {
  Switchover: 'switchover',
  Failover: 'failover',
  Failback: 'failback',
  Repair: 'repair',
  ResolveConflict: 'resolve-conflict',
};
