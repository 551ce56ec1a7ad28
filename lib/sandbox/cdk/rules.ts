import type { EventBridgeEvent, RetryPolicy } from '../eventbridge/index.ts';
import { resourcesOfType, type StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate } from './templates.ts';

/** An input transformer of a rule target (InputPathsMap + InputTemplate). */
export interface InputTransformer {
  readonly InputPathsMap?: Readonly<Record<string, string>>;
  readonly InputTemplate: string;
}

/** One target of a synthesized rule, with its ARN resolved. */
export interface TargetSpec {
  readonly id: string;
  readonly arn: string;
  readonly retryPolicy?: RetryPolicy;
  readonly deadLetterArn?: string;
  readonly input?: string;
  readonly inputTransformer?: InputTransformer;
  /** The role EventBridge assumes to reach the target (bus and state machine targets). */
  readonly roleArn?: string;
}

/** An AWS::Events::Rule of a template, ready to be put on a local bus. */
export interface RuleSpec {
  readonly logicalId: string;
  readonly name: string;
  /** The bus it belongs to (`default` when the template names none). */
  readonly busName: string;
  readonly eventPattern?: unknown;
  readonly scheduleExpression?: string;
  readonly targets: readonly TargetSpec[];
}

interface CfnTarget {
  Id: string;
  Arn: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  Input?: string;
  InputTransformer?: InputTransformer;
  RoleArn?: string;
}

function toTarget(t: CfnTarget): TargetSpec {
  return {
    id: t.Id,
    arn: t.Arn,
    ...(t.RetryPolicy
      ? {
          retryPolicy: {
            maximumRetryAttempts: t.RetryPolicy.MaximumRetryAttempts ?? 185,
            maximumEventAgeSeconds: t.RetryPolicy.MaximumEventAgeInSeconds ?? 86_400,
          },
        }
      : {}),
    ...(t.DeadLetterConfig?.Arn ? { deadLetterArn: t.DeadLetterConfig.Arn } : {}),
    ...(t.Input !== undefined ? { input: t.Input } : {}),
    ...(t.InputTransformer ? { inputTransformer: t.InputTransformer } : {}),
    ...(t.RoleArn ? { roleArn: t.RoleArn } : {}),
  };
}

/** Every enabled AWS::Events::Rule of a template (event-pattern and schedule rules). */
export function rulesOfTemplate(template: CfnTemplate, env: StackEnvironment): RuleSpec[] {
  return resourcesOfType(template, 'AWS::Events::Rule', env)
    .filter(({ properties }) => (properties.State ?? 'ENABLED') === 'ENABLED')
    .map(({ logicalId, properties: p }) => ({
      logicalId,
      name: typeof p.Name === 'string' ? p.Name : logicalId.slice(0, 64),
      busName: typeof p.EventBusName === 'string' ? busNameOf(p.EventBusName) : 'default',
      ...(p.EventPattern !== undefined ? { eventPattern: p.EventPattern } : {}),
      ...(typeof p.ScheduleExpression === 'string' ? { scheduleExpression: p.ScheduleExpression } : {}),
      targets: ((p.Targets as CfnTarget[] | undefined) ?? []).map(toTarget),
    }));
}

/** A bus named by ARN or by name, as its name. */
export function busNameOf(nameOrArn: string): string {
  const at = nameOrArn.indexOf(':event-bus/');
  return at >= 0 ? nameOrArn.slice(at + ':event-bus/'.length) : nameOrArn;
}

/** Reads a simple JSONPath (`$`, `$.a.b`, `$.a[0]`) from an event. */
function readPath(event: unknown, path: string): unknown {
  if (path === '$') return event;
  const steps = path.replace(/^\$\.?/, '').match(/[^.[\]]+/g) ?? [];
  let value: unknown = event;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/**
 * The payload a target receives: the event itself, the constant `Input`, or the InputTemplate with each
 * `<name>` replaced by the JSON of its path (EventBridge quotes strings unless the placeholder already is).
 */
export function targetInput(target: TargetSpec, event: EventBridgeEvent): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  const transformer = target.inputTransformer;
  if (!transformer) return event;
  const paths = transformer.InputPathsMap ?? {};
  const text = transformer.InputTemplate.replace(
    /("?)<([A-Za-z0-9_.-]+)>("?)/g,
    (match, open, name, close) => {
      const path = paths[name as string];
      if (path === undefined) return match;
      const value = readPath(event, path);
      if (open && close)
        return JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value ?? null));
      return `${open}${JSON.stringify(value ?? null)}${close}`;
    },
  );
  return JSON.parse(text);
}
