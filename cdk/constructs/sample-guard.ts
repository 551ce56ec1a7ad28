import { Annotations, CfnParameter, CfnRule, Fn, type Stack } from 'aws-cdk-lib';
import { placeholdersOf, type Topology } from '../../lib/config/index.ts';

/** Logical id of the parameter and rule a stack gets while its configuration holds samples. */
export const SAMPLE_PARAMETER_ID = 'ConfigurationSamples';
export const SAMPLE_RULE_ID = 'RefuseSampleConfiguration';

/**
 * Refuses to deploy a configuration that still holds samples (an account like 111111111111, a hosted zone
 * or API name under example.com) while letting it synthesize, because the sandbox and the tests run on the
 * shipped samples. A synth warns (once, on the stack given `warn`); a deploy fails in CloudFormation before any resource is
 * touched: a template rule asserts that the `ConfigurationSamples` parameter, whose default lists the
 * samples, is empty, and its AssertDescription says what to set where. (The CDK app cannot tell a deploy
 * from a synth: the CLI runs it the same way for both.)
 */
export function guardSamples(stack: Stack, topology: Topology, options: { warn: boolean }): void {
  const samples = placeholdersOf(topology);
  if (samples.length === 0) return;
  // Named by their path in the application config (`environments.<env>.account`), which the template
  // carries: no file path, so the templates are the same on every machine.
  const where = `environments.${topology.name}`;
  for (const sample of options.warn ? samples : []) {
    Annotations.of(stack).addWarningV2(
      `multiactive:sample-${sample.path}`,
      `${where}.${sample.path} (application config): ${sample.message}. cdk deploy refuses this configuration.`,
    );
  }
  const parameter = new CfnParameter(stack, SAMPLE_PARAMETER_ID, {
    type: 'String',
    default: samples.map((s) => s.path).join(','),
    description: `Settings of ${where} (application config) that are still samples; the stack refuses to deploy while any is listed.`,
  });
  new CfnRule(stack, SAMPLE_RULE_ID, {
    assertions: [
      {
        assert: Fn.conditionEquals(parameter.valueAsString, ''),
        assertDescription: `${where} of the application config still holds samples. ${samples.map((s) => `${s.path}: ${s.message}.`).join(' ')}`,
      },
    ],
  });
}
