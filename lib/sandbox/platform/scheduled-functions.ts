import { parseArn } from '../cdk/intrinsics.ts';
import type { RuleSpec } from '../cdk/rules.ts';
import { functionNameOf } from './invoke.ts';
import type { SandboxRegion } from './region.ts';
import { rateMs, type ScheduledTarget } from './schedules.ts';
import type { SandboxTiming } from './timing.ts';

/**
 * The scheduled rules of a region's template whose targets the sandbox runs on their synthesized rate
 * (scaled by `awsTimeScale`): the watchdog. The lag monitor's schedule is not run this way: the region's
 * heartbeat loop drives the same tick at the sandbox's heartbeat interval.
 */
export function scheduledTargetsOf(
  region: SandboxRegion,
  rules: readonly RuleSpec[],
  timing: SandboxTiming,
): ScheduledTarget[] {
  const targets: ScheduledTarget[] = [];
  for (const rule of rules) {
    const period = rule.scheduleExpression ? rateMs(rule.scheduleExpression) : undefined;
    if (period === undefined) continue;
    for (const target of rule.targets) {
      if (parseArn(target.arn).service !== 'lambda') continue;
      if (!functionNameOf(target.arn).endsWith('-watchdog')) continue;
      targets.push({
        name: `${region.name}/${rule.name}`,
        periodMs: period * timing.awsTimeScale,
        run: () => region.functions.watchdog(),
        active: () => !region.isDown,
      });
    }
  }
  return targets;
}
