import { readFileSync } from 'node:fs';

/**
 * The feature flags of cdk.json. The CDK CLI passes them to the app; an App built in-process (the sandbox's
 * template synth, the tests) must pass them too, or its templates differ from the deployed ones (e.g.
 * `createNewPoliciesWithAddToRolePolicy` decides where a function's grants land).
 */
export function cdkJsonContext(): Record<string, unknown> {
  const file = new URL('../cdk.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/** Context of an in-process App that synthesizes like `cdk synth`, without bundling the functions. */
export function unbundledContext(): Record<string, unknown> {
  return { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] };
}
