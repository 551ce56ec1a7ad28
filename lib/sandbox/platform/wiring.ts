import { randomUUID } from 'node:crypto';
import { parseArn } from '../cdk/intrinsics.ts';
import {
  type AsyncInvokeConfig,
  DEFAULT_ASYNC_INVOKE,
  LAMBDA_RETRY_DELAYS_MS,
} from '../cdk/invoke-configs.ts';
import { busNameOf, type RuleSpec, type TargetSpec, targetInput } from '../cdk/rules.ts';
import {
  type AsyncInvokeCondition,
  type AsyncInvokePolicy,
  type BusTarget,
  type EventBridgeEvent,
  entrySize,
  FunctionError,
  type LocalEventBus,
  type PutEventsEntry,
} from '../eventbridge/index.ts';
import {
  type CallDescription,
  type IamEnforcement,
  invokeCall,
  putEventsCall,
  sendMessageCall,
  startExecutionCall,
} from '../iam/index.ts';
import type { LocalQueue } from '../sqs/index.ts';
import type { WanNetwork } from '../wan/index.ts';
import { functionNameOf, localInvoker } from './invoke.ts';
import type { DeadLetter, SandboxRegion } from './region.ts';
import type { PipelineTrace } from './stage-trace.ts';

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
  /** IAM for the deliveries: a target's role, or EventBridge itself for a Lambda target. */
  readonly iam?: IamEnforcement;
  /** Per-event pipeline timestamps, when a benchmark asks (`traceStages`). */
  readonly trace?: PipelineTrace;
  /** The SQS queue of an ARN (the templates' queues, `SandboxQueues`). */
  readonly queue?: (arn: string) => LocalQueue | undefined;
  /** A function's EventInvokeConfig from its region's template (Lambda's defaults when it has none). */
  readonly asyncInvokeConfig?: (region: string, functionName: string) => AsyncInvokeConfig | undefined;
  /** Scales Lambda's retry waits and the event's maximum age (the sandbox's `awsTimeScale`). */
  readonly awsTimeScale?: number;
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

/** A rule's ARN: rules on a custom bus carry the bus name. */
function ruleArnOf(host: BusHost, rule: RuleSpec): string {
  const bus = host.bus.name === 'default' ? '' : `${host.bus.name}/`;
  return `arn:aws:events:${host.region}:${host.bus.account}:rule/${bus}${rule.name}`;
}

/**
 * Authorizes one delivery as AWS would: with the target's role when it has one (a bus or a state machine),
 * else as EventBridge on behalf of the rule (a Lambda target, decided by the function's resource policy).
 * A refusal fails the delivery, which then retries and dead-letters like any failed delivery.
 */
async function authorizeDelivery(
  ctx: WiringContext,
  delivery: { ruleArn: string; target: TargetSpec; call: CallDescription; bytes: number },
): Promise<void> {
  const { iam } = ctx;
  if (!iam) return;
  const { ruleArn, target } = delivery;
  const caller = target.roleArn
    ? iam.ruleTargetCaller(target.roleArn, ruleArn)
    : iam.ruleServiceCaller(ruleArn);
  await iam.require(caller, delivery.call, delivery.bytes);
}

const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

function busDelivery(
  host: BusHost,
  target: TargetSpec,
  ruleArn: string,
  ctx: WiringContext,
): BusTarget['deliver'] | undefined {
  const { arn } = target;
  const { region } = parseArn(arn);
  const name = busNameOf(arn);
  if (!ctx.busIn(region, name)) return undefined;
  return async (event) => {
    ctx.trace?.atDelivery('forward', event, region);
    const entry = asEntry(event);
    await authorizeDelivery(ctx, { ruleArn, target, call: putEventsCall(arn, 1), bytes: entrySize(entry) });
    ctx.trace?.atDelivery('wanOut', event, region);
    const result = await ctx.wan.send(host.region, region, () => {
      const target = ctx.busIn(region, name);
      if (!target) throw new Error(`no bus ${name} in ${region}`);
      ctx.trace?.atDelivery('peerBus', event, region);
      return target.putEvents([entry]);
    });
    const failed = result.Entries[0];
    if (result.FailedEntryCount > 0 && failed && 'ErrorCode' in failed)
      throw new Error(`PutEvents to ${arn} failed: ${failed.ErrorCode} ${failed.ErrorMessage}`);
  };
}

function deliveryFor(
  host: BusHost,
  target: TargetSpec,
  ruleArn: string,
  ctx: WiringContext,
): BusTarget['deliver'] | undefined {
  const { service, region, resource } = parseArn(target.arn);
  if (service === 'events') return busDelivery(host, target, ruleArn, ctx);
  if (service === 'lambda') {
    const owner = ctx.regionNamed(region);
    if (!owner || region !== host.region) return undefined;
    const functionName = functionNameOf(target.arn);
    const invoke = localInvoker({
      functions: owner.functions,
      env: ctx.env,
      region,
      functionName,
    });
    return async (event) => {
      ctx.trace?.atDelivery('applierDelivery', event, region);
      const input = targetInput(target, event);
      await authorizeDelivery(ctx, { ruleArn, target, call: invokeCall(target.arn), bytes: sizeOf(input) });
      // From here on the invocation is Lambda's: a failure of the function is retried by Lambda.
      try {
        if (owner.takeInvocationFault(functionName, input)) throw new InjectedFunctionFault(functionName);
        await invoke(input);
      } catch (error) {
        throw new FunctionError(functionName, error);
      }
    };
  }
  if (service === 'sqs') {
    const queue = region === host.region ? ctx.queue?.(target.arn) : undefined;
    if (!queue) return undefined;
    // EventBridge sends the event as the message body, as itself on behalf of the rule: the queue's policy decides.
    return async (event) => {
      ctx.trace?.atDelivery('applierDelivery', event, region);
      const input = targetInput(target, event);
      const body = typeof input === 'string' ? input : JSON.stringify(input);
      await authorizeDelivery(ctx, {
        ruleArn,
        target,
        call: sendMessageCall(target.arn),
        bytes: Buffer.byteLength(body),
      });
      queue.send(body);
    };
  }
  if (service === 'states') {
    const name = resource.slice(resource.indexOf(':') + 1);
    return async (event) => {
      const input = targetInput(target, event);
      await authorizeDelivery(ctx, {
        ruleArn,
        target,
        call: startExecutionCall(target.arn),
        bytes: sizeOf(input),
      });
      await ctx.startExecution(region, name, input);
    };
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
      const deliver = deliveryFor(host, target, ruleArnOf(host, rule), ctx);
      if (!deliver) {
        skipped.push(`${rule.name}/${target.id} -> ${target.arn}`);
        continue;
      }
      const asyncInvoke = asyncInvokePolicy(host, target, ctx);
      targets.push({
        id: target.id,
        deliver,
        ...(target.retryPolicy ? { retryPolicy: target.retryPolicy } : {}),
        ...(target.deadLetterArn
          ? { deadLetter: deadLetterSink(host, target, ruleArnOf(host, rule), ctx) }
          : {}),
        ...(asyncInvoke ? { asyncInvoke } : {}),
      });
    }
    if (targets.length === 0) continue;
    host.bus.putRule({ name: rule.name, eventPattern: rule.eventPattern, targets });
    wired.push(rule.name);
  }
  return { wired, skipped };
}

/**
 * Where a target's given-up deliveries go: its dead-letter queue, which EventBridge sends to as itself on
 * behalf of the rule (the queue's policy must allow it, or the event is dropped).
 */
function deadLetterSink(host: BusHost, target: TargetSpec, ruleArn: string, ctx: WiringContext) {
  return async (event: EventBridgeEvent, error: unknown) => {
    const queueArn = target.deadLetterArn as string;
    if (ctx.iam)
      await ctx.iam.require(ctx.iam.ruleServiceCaller(ruleArn), sendMessageCall(queueArn), sizeOf(event));
    host.deadLetters.push({
      queueArn: target.deadLetterArn as string,
      targetId: target.id,
      event,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  };
}

/** A fault a test injected (`SandboxRegion.failInvocations`): the function fails as if it had thrown. */
export class InjectedFunctionFault extends Error {
  constructor(functionName: string) {
    super(`injected failure of ${functionName}`);
    this.name = 'InjectedFunctionFault';
  }
}

/**
 * How Lambda runs a rule's Lambda target asynchronously: the function's EventInvokeConfig (retries, maximum
 * age, on-failure destination) from the template, Lambda's 1- and 2-minute retry waits, both scaled by
 * `awsTimeScale`. The on-failure destination receives Lambda's invocation record, sent with the function's
 * role (its grant on the queue decides); without a destination the event is dropped, as Lambda drops it.
 */
function asyncInvokePolicy(
  host: BusHost,
  target: TargetSpec,
  ctx: WiringContext,
): AsyncInvokePolicy | undefined {
  const { service, region, account } = parseArn(target.arn);
  if (service !== 'lambda' || region !== host.region) return undefined;
  const functionName = functionNameOf(target.arn);
  const config = ctx.asyncInvokeConfig?.(region, functionName) ?? DEFAULT_ASYNC_INVOKE;
  const scale = ctx.awsTimeScale ?? 1;
  const destination = config.onFailureArn;
  const functionArn = `arn:aws:lambda:${region}:${account}:function:${functionName}`;
  return {
    maximumRetryAttempts: config.maximumRetryAttempts,
    retryDelaysMs: LAMBDA_RETRY_DELAYS_MS.map((ms) => ms * scale),
    maximumEventAgeMs: config.maximumEventAgeSeconds * 1000 * scale,
    ...(destination
      ? {
          onFailure: async (event, failure) => {
            const queue = ctx.queue?.(destination);
            if (!queue)
              throw new Error(`on-failure destination ${destination} is not a queue of the sandbox`);
            const record = invocationRecord(functionArn, targetInput(target, event), failure);
            const body = JSON.stringify(record);
            const { iam } = ctx;
            if (iam) {
              const short = functionName.replace(`multiactive-${ctx.env}-`, '');
              await iam.require(
                iam.functionCaller(region, ctx.env, short),
                sendMessageCall(destination),
                Buffer.byteLength(body),
              );
            }
            queue.send(body);
            ctx.log(
              `${region}: ${functionName} failed ${failure.approximateInvokeCount} times (${failure.condition}): invocation record sent to ${queue.spec.name}`,
            );
          },
        }
      : {}),
  };
}

/** What Lambda sends an on-failure destination for a failed asynchronous invocation. */
function invocationRecord(
  functionArn: string,
  requestPayload: unknown,
  failure: { condition: AsyncInvokeCondition; approximateInvokeCount: number; error: unknown },
) {
  const { error } = failure;
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: `${functionArn}:$LATEST`,
      condition: failure.condition,
      approximateInvokeCount: failure.approximateInvokeCount,
    },
    requestPayload,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: {
      errorType: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    },
  };
}
