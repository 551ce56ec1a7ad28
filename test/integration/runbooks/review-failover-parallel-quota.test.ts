import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { SPILL_OVER_BYTES } from '../../../lib/runbooks/spill.ts';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import {
  PAYLOAD_QUOTA_BYTES,
  payloadBytes,
  StateMachineRunner,
} from '../../../lib/sandbox/state-machines/runner.ts';
import { testEnvironment } from '../../cdk/support/app.ts';
import { resolveDefinition } from '../../cdk/support/definition.ts';

/*
 * Review of i15-failover, claim (2): DrainAndRecord is a Parallel whose ResultSelector merges the two
 * branch outputs. Each branch outputs the WHOLE state (input + its own result), so the Parallel's raw
 * result, the array [state + drainRegion, state + recordWatermarks], is twice the state. Step Functions
 * applies its 256 KiB quota to a state's result before ResultSelector ("The state/task 'X' returned a
 * result with a size exceeding the maximum number of bytes service limit", States.DataLimitExceeded,
 * which no Catch catches). The spill (lib/runbooks/spill.ts) keeps each task result at most
 * SPILL_OVER_BYTES (32 KiB) in the state, i.e. it bounds the state at ~5 x 32 KiB, which was within
 * quota for the sequential machine; doubled, it no longer is. Interleaving: ChooseNewHomes,
 * FencePartitions, CollectCopies and BumpEpochs each return a result just at the spill threshold (kept
 * in the state, a few dozen moved partitions with entries) -> the state entering DrainAndRecord is
 * ~128 KiB -> both branches succeed (the region is drained, the record opened) -> the Parallel's result
 * is ~257 KiB -> the execution FAILS (uncaught), after the work was done; the watchdog sees a drained
 * region and never retries. The sandbox runner only checks states' inputs/outputs, not a Parallel's
 * raw result, so it reported SUCCEEDED: this test measures the raw result from the branch outputs.
 * (Since the fix the runner also holds a Parallel's / Map's raw result to the quota, so on the old ASL
 * the status check below fails too: States.DataLimitExceeded on DrainAndRecord's result.)
 * Fix: let each branch output only its result (task OutputPath `$.drainRegion` / `$.recordWatermarks`,
 * or a branch-final Pass), and merge them into the state with ResultPath + a Pass (States.JsonMerge).
 */
let failover: StateMachineSpec;
beforeAll(() => {
  const stacks = testEnvironment(bank.topology('dev'));
  const machines = Template.fromStack(stacks.regional['us-east-1']!).findResources(
    'AWS::StepFunctions::StateMachine',
  );
  const machine = Object.values(machines).find(
    (m) => m.Properties.StateMachineName === 'multiactive-dev-Failover',
  )!;
  failover = {
    name: 'Failover',
    region: 'us-east-1',
    arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:multiactive-dev-Failover',
    definition: resolveDefinition(machine.Properties.DefinitionString) as unknown as AslDefinition,
  };
}, 60_000);

/** A task result of exactly SPILL_OVER_BYTES: the largest the spill leaves in the state. */
const atThreshold = () => ({ detail: 'x'.repeat(SPILL_OVER_BYTES - '{"detail":""}'.length) });

describe('review-failover: DrainAndRecord within Step Functions payload quota', () => {
  it('keeps the Parallel raw result (both branch outputs) within 256 KiB when every earlier result stays in the state', async () => {
    expect(payloadBytes(atThreshold())).toBe(SPILL_OVER_BYTES);
    const runner = new StateMachineRunner({
      machines: [failover],
      invoke: async (_region, _fn, payload) => {
        const { task } = payload as { task: string };
        if (task === 'ConfirmRegionLost') return { confirmed: true };
        if (task === 'DrainRegion') return { region: 'eu-west-1', traffic: 'drained' };
        if (task === 'RecordWatermarks') return { record: { region: 'eu-west-1' } };
        return atThreshold();
      },
    });
    const { executionArn, done } = runner.start('us-east-1', 'Failover', {
      region: 'eu-west-1',
      trigger: 'operator',
    });
    const result = await done;
    expect({ status: result.status, error: result.error, cause: result.cause }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
      cause: undefined,
    }); // the sandbox now holds a Parallel's raw result to the quota too

    // Each branch is one task: its TaskStateExited output is the branch's output.
    const branchOutputs = runner
      .historyOf(executionArn)
      .filter(
        (e) =>
          e.type === 'TaskStateExited' &&
          ['DrainRegion', 'RecordWatermarks'].includes(e.stateExitedEventDetails?.name ?? ''),
      )
      .map((e) => JSON.parse(e.stateExitedEventDetails!.output!) as unknown);
    expect(branchOutputs).toHaveLength(2);
    // What the Parallel returns before its ResultSelector, and what AWS holds to the quota.
    expect(payloadBytes(branchOutputs)).toBeLessThanOrEqual(PAYLOAD_QUOTA_BYTES);
  });
});
