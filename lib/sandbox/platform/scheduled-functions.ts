import { parseArn } from '../cdk/intrinsics.ts';
import type { RuleSpec } from '../cdk/rules.ts';
import { type IamEnforcement, invokeCall } from '../iam/index.ts';
import { functionNameOf } from './invoke.ts';
import type { SandboxRegion } from './region.ts';
import { rateMs, type ScheduledTarget } from './schedules.ts';
import type { SandboxTiming } from './timing.ts';

/**
 * The scheduled rules of a region's template whose targets the sandbox runs on their synthesized rate
 * (scaled by `awsTimeScale`): the watchdog, and the functions `runners` has a run for (by short name: the
 * readiness evaluation, which needs the whole sandbox). The lag monitor's schedule is not run this way: the region's
 * heartbeat loop drives the same tick at the sandbox's heartbeat interval. Each run is first authorized
 * as EventBridge invoking the function on behalf of the rule (the function's resource policy decides).
 */
export function scheduledTargetsOf(
  region: SandboxRegion,
  rules: readonly RuleSpec[],
  timing: SandboxTiming,
  invocation: {
    readonly iam?: IamEnforcement;
    /** Runs of other scheduled functions, by short name (`readiness`). */
    readonly runners?: Readonly<Record<string, () => Promise<unknown>>>;
  } = {},
): ScheduledTarget[] {
  const { iam, runners = {} } = invocation;
  const targets: ScheduledTarget[] = [];
  for (const rule of rules) {
    const period = rule.scheduleExpression ? rateMs(rule.scheduleExpression) : undefined;
    if (period === undefined) continue;
    const { account } = region.options.topology;
    // Schedules live on the default bus, whose rules have no bus segment in their ARN.
    const ruleArn = `arn:aws:events:${region.name}:${account}:rule/${rule.name}`;
    for (const target of rule.targets) {
      if (parseArn(target.arn).service !== 'lambda') continue;
      const short = functionNameOf(target.arn).replace(`multiactive-${region.options.topology.name}-`, '');
      const invoke = short === 'watchdog' ? () => region.functions.watchdog() : runners[short];
      if (!invoke) continue;
      targets.push({
        name: `${region.name}/${rule.name}`,
        periodMs: period * timing.awsTimeScale,
        run: async () => {
          if (iam) await iam.require(iam.ruleServiceCaller(ruleArn), invokeCall(target.arn), 0);
          return invoke();
        },
        active: () => !region.isDown,
      });
    }
  }
  return targets;
}
