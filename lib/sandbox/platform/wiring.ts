import { parseArn } from '../cdk/intrinsics.ts';
import { busNameOf, type RuleSpec, type TargetSpec, targetInput } from '../cdk/rules.ts';
import type { BusTarget, EventBridgeEvent, LocalEventBus, PutEventsEntry } from '../eventbridge/index.ts';
import type { WanNetwork } from '../wan/index.ts';
import { functionNameOf, localInvoker } from './invoke.ts';
import type { DeadLetter, SandboxRegion } from './region.ts';

/** What binding a rule's targets needs to know about the whole sandbox. */
export interface WiringContext {
  readonly env: string;
  readonly wan: WanNetwork;
  /** The bus named `name` in `region` (a regional replication bus or the global default bus). */
  readonly busIn: (region: string, name: string) => LocalEventBus | undefined;
  readonly regionNamed: (region: string) => SandboxRegion | undefined;
  /** StartExecution: resolves once the execution started (not finished). */
  readonly startExecution: (region: string, stateMachineName: string, input: unknown) => Promise<void>;
  readonly log: (line: string) => void;
}

/** Where a bus lives and what it is for its rules. */
export interface BusHost {
  readonly region: string;
  readonly bus: LocalEventBus;
  /** Where given-up deliveries are kept (the target's DLQ). */
  readonly deadLetters: DeadLetter[];
}

/** EventBridge puts an event onto another bus as the same event; the local bus takes it as an entry. */
function asEntry(event: EventBridgeEvent): PutEventsEntry {
  return {
    Source: event.source,
    DetailType: event['detail-type'],
    Detail: JSON.stringify(event.detail),
    Resources: [...event.resources],
    Time: new Date(event.time),
  };
}

function busDelivery(host: BusHost, arn: string, ctx: WiringContext): BusTarget['deliver'] | undefined {
  const { region } = parseArn(arn);
  const name = busNameOf(arn);
  if (!ctx.busIn(region, name)) return undefined;
  return async (event) => {
    const result = await ctx.wan.send(host.region, region, () => {
      const target = ctx.busIn(region, name);
      if (!target) throw new Error(`no bus ${name} in ${region}`);
      return target.putEvents([asEntry(event)]);
    });
    const failed = result.Entries[0];
    if (result.FailedEntryCount > 0 && failed && 'ErrorCode' in failed)
      throw new Error(`PutEvents to ${arn} failed: ${failed.ErrorCode} ${failed.ErrorMessage}`);
  };
}

function deliveryFor(
  host: BusHost,
  target: TargetSpec,
  ctx: WiringContext,
): BusTarget['deliver'] | undefined {
  const { service, region, resource } = parseArn(target.arn);
  if (service === 'events') return busDelivery(host, target.arn, ctx);
  if (service === 'lambda') {
    const owner = ctx.regionNamed(region);
    if (!owner || region !== host.region) return undefined;
    const invoke = localInvoker({
      functions: owner.functions,
      env: ctx.env,
      region,
      functionName: functionNameOf(target.arn),
    });
    return async (event) => void (await invoke(targetInput(target, event)));
  }
  if (service === 'states') {
    const name = resource.slice(resource.indexOf(':') + 1);
    return (event) => ctx.startExecution(region, name, targetInput(target, event));
  }
  return undefined;
}

/**
 * Puts a template's rules on the local bus they belong to, each target bound to its local counterpart:
 * a bus ARN becomes a delivery over the WAN link to that region's bus, a Lambda ARN the region's local
 * handler, a state machine ARN a local execution; RetryPolicy and DeadLetterConfig are honoured.
 * Returns the names of the rules wired and the targets it could not bind.
 */
export function wireRules(
  host: BusHost,
  rules: readonly RuleSpec[],
  ctx: WiringContext,
): { wired: string[]; skipped: string[] } {
  const wired: string[] = [];
  const skipped: string[] = [];
  for (const rule of rules) {
    if (rule.busName !== host.bus.name || rule.eventPattern === undefined) continue;
    const targets: BusTarget[] = [];
    for (const target of rule.targets) {
      const deliver = deliveryFor(host, target, ctx);
      if (!deliver) {
        skipped.push(`${rule.name}/${target.id} -> ${target.arn}`);
        continue;
      }
      targets.push({
        id: target.id,
        deliver,
        ...(target.retryPolicy ? { retryPolicy: target.retryPolicy } : {}),
        ...(target.deadLetterArn ? { deadLetter: deadLetterSink(host, target) } : {}),
      });
    }
    if (targets.length === 0) continue;
    host.bus.putRule({ name: rule.name, eventPattern: rule.eventPattern, targets });
    wired.push(rule.name);
  }
  return { wired, skipped };
}

function deadLetterSink(host: BusHost, target: TargetSpec) {
  return async (event: EventBridgeEvent, error: unknown) => {
    host.deadLetters.push({
      queueArn: target.deadLetterArn as string,
      targetId: target.id,
      event,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  };
}
