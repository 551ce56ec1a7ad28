import { describe, expect, it } from 'vitest';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import { DATA_LIMIT_EXCEEDED, StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';

/**
 * Review 2 of i15-failover (e17ece5): the sandbox's "Parallel's raw result before ResultSelector" check
 * (checkCombinedResult) records a branch's output only when the state ending the branch is NOT itself a
 * Parallel or Map: on StateExited of a Parallel/Map it returns early (`if (type === 'Parallel' || type ===
 * 'Map') { ...; return; }`), so a branch whose last state is a Map (nested Map in Parallel) never adds its
 * output to the enclosing Parallel's raw result.
 *
 * Here each branch is a Map (End: true) whose two iterations output a 70 kB item: each Map's raw result and
 * output is ~140 kB (under 256 KiB, so each Map passes its own checks), but the Parallel's raw result is the
 * two Map outputs, ~280 kB > 262144 bytes. AWS fails the execution with States.DataLimitExceeded before the
 * Parallel's ResultSelector (which keeps only the count); the sandbox runs it to SUCCEEDED.
 */
const region = 'eu-west-1';
const spec = (definition: AslDefinition): StateMachineSpec => ({
  name: 'Nested',
  region,
  arn: `arn:aws:states:${region}:111111111111:stateMachine:Nested`,
  definition,
});

const mapBranch = (name: string) => ({
  StartAt: name,
  States: {
    [name]: {
      Type: 'Map',
      ItemsPath: '$.items',
      Iterator: {
        StartAt: `${name}Item`,
        States: { [`${name}Item`]: { Type: 'Pass', End: true } },
      },
      End: true,
    },
  },
});

const definition: AslDefinition = {
  StartAt: 'Both',
  States: {
    Both: {
      Type: 'Parallel',
      Branches: [mapBranch('Left'), mapBranch('Right')],
      ResultSelector: { 'count.$': 'States.ArrayLength($)' },
      ResultPath: '$.both',
      OutputPath: '$.both',
      End: true,
    },
  },
} as AslDefinition;

describe('review-failover-2: nested Map in a Parallel, raw result quota', () => {
  it("fails with States.DataLimitExceeded when the Parallel's branches (each a Map) output over 256 KiB together", async () => {
    const item = 'i'.repeat(70_000);
    const runner = new StateMachineRunner({
      machines: [spec(definition)],
      invoke: async () => ({ ok: true }),
    });
    const result = await runner.run(region, 'Nested', { items: [item, item] });
    // AWS: the Parallel's raw result [[item,item],[item,item]] is ~280 kB > 262144 bytes.
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
  });
});
