import { parseArn } from '../cdk/intrinsics.ts';
import type { RuleSpec } from '../cdk/rules.ts';
import { type IamEnforcement, invokeCall } from '../iam/index.ts';
import { functionNameOf } from './invoke.ts';
import type { SandboxRegion } from './region.ts';
import { rateMs, type ScheduledTarget } from './schedules.ts';
import type { SandboxTiming } from './timing.ts';

/**
 * The scheduled rules of a region's template whose targets the sandbox runs on their synthesized rate
 * (scaled by `awsTimeScale`): the watchdog. The lag monitor's schedule is not run this way: the region's
 * heartbeat loop drives the same tick at the sandbox's heartbeat interval. Each run is first authorized
 * as EventBridge invoking the function on behalf of the rule (the function's resource policy decides).
 */
export function scheduledTargetsOf(
  region: SandboxRegion,
  rules: readonly RuleSpec[],
  timing: SandboxTiming,
  iam?: IamEnforcement,
): ScheduledTarget[] {
  const targets: ScheduledTarget[] = [];
  for (const rule of rules) {
    const period = rule.scheduleExpression ? rateMs(rule.scheduleExpression) : undefined;
    if (period === undefined) continue;
    const { account } = region.options.topology;
    // Schedules live on the default bus, whose rules have no bus segment in their ARN.
    const ruleArn = `arn:aws:events:${region.name}:${account}:rule/${rule.name}`;
    for (const target of rule.targets) {
      if (parseArn(target.arn).service !== 'lambda') continue;
      if (!functionNameOf(target.arn).endsWith('-watchdog')) continue;
      targets.push({
        name: `${region.name}/${rule.name}`,
        periodMs: period * timing.awsTimeScale,
        run: async () => {
          if (iam) await iam.require(iam.ruleServiceCaller(ruleArn), invokeCall(target.arn), 0);
          return region.functions.watchdog();
        },
        active: () => !region.isDown,
      });
    }
  }
  return targets;
}
