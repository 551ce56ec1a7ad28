import { functionNameOf, resourcesOfType, type StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate } from './templates.ts';

/** How Lambda handles an asynchronous invocation of a function (`AWS::Lambda::EventInvokeConfig`). */
export interface AsyncInvokeConfig {
  /** Retries after a failed invocation (0-2). */
  readonly maximumRetryAttempts: number;
  /** An event older than this is not tried again (60-21600). */
  readonly maximumEventAgeSeconds: number;
  /** Where an invocation record goes once Lambda gives up (an SQS queue here). */
  readonly onFailureArn?: string;
}

/** Lambda's handling of an asynchronous invocation when the function has no EventInvokeConfig. */
export const DEFAULT_ASYNC_INVOKE: AsyncInvokeConfig = {
  maximumRetryAttempts: 2,
  maximumEventAgeSeconds: 21_600,
};

/**
 * Lambda's waits before the retries of a failed asynchronous invocation: 1 minute, then 2 (AWS documents
 * "one minute before the second attempt and two minutes between the second and the third").
 */
export const LAMBDA_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];

/** Every function's EventInvokeConfig of a template (the unqualified or `$LATEST` one), by function name. */
export function asyncInvokeConfigsOf(
  template: CfnTemplate,
  env: StackEnvironment,
): Map<string, AsyncInvokeConfig> {
  const out = new Map<string, AsyncInvokeConfig>();
  for (const { properties: p } of resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig', env)) {
    if (p.Qualifier !== undefined && p.Qualifier !== '$LATEST') continue;
    const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination;
    out.set(functionNameOf(String(p.FunctionName)), {
      maximumRetryAttempts:
        typeof p.MaximumRetryAttempts === 'number'
          ? p.MaximumRetryAttempts
          : DEFAULT_ASYNC_INVOKE.maximumRetryAttempts,
      maximumEventAgeSeconds:
        typeof p.MaximumEventAgeInSeconds === 'number'
          ? p.MaximumEventAgeInSeconds
          : DEFAULT_ASYNC_INVOKE.maximumEventAgeSeconds,
      ...(typeof destination === 'string' ? { onFailureArn: destination } : {}),
    });
  }
  return out;
}

/** Lambda's timeout when a function's template gives none (`AWS::Lambda::Function` `Timeout`). */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3;

/** Every function's timeout in a template (`Timeout`, seconds), in milliseconds, by function name. */
export function functionTimeoutsOf(template: CfnTemplate, env: StackEnvironment): Map<string, number> {
  const out = new Map<string, number>();
  for (const { properties: p } of resourcesOfType(template, 'AWS::Lambda::Function', env)) {
    if (typeof p.FunctionName !== 'string') continue;
    const seconds = typeof p.Timeout === 'number' ? p.Timeout : DEFAULT_FUNCTION_TIMEOUT_SECONDS;
    out.set(p.FunctionName, seconds * 1000);
  }
  return out;
}
