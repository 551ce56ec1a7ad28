import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import { StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';
import { validateMachines, validVerdictFile } from '../../../lib/sandbox/state-machines/validation.ts';

const spec = (name: string, region: string, definition: AslDefinition): StateMachineSpec => ({
  name,
  region,
  arn: `arn:aws:states:${region}:111111111111:stateMachine:${name}`,
  definition,
});

const task = (region: string, next: string) => ({
  Type: 'Task',
  Resource: `arn:aws:lambda:${region}:111111111111:function:echo`,
  Next: next,
});

const valid = (region: string): AslDefinition => ({
  StartAt: 'Echo',
  States: { Echo: task(region, 'Done'), Done: { Type: 'Succeed' } },
});

describe('state machine definitions are validated once, when the runner is built', () => {
  it('runs a valid machine and refuses to run an invalid one with the validator message', async () => {
    const runner = new StateMachineRunner({
      machines: [
        spec('Good', 'eu-west-1', valid('eu-west-1')),
        spec('Bad', 'eu-west-1', { StartAt: 'Echo', States: { Echo: task('eu-west-1', 'Nowhere') } }),
      ],
      invoke: async (_region, _fn, payload) => ({ echoed: payload }),
    });

    const good = await runner.run('eu-west-1', 'Good', { n: 1 });
    expect(good).toMatchObject({
      status: 'SUCCEEDED',
      output: { echoed: { n: 1 } },
      states: ['Echo', 'Done'],
    });
    await expect(runner.run('eu-west-1', 'Bad', {})).rejects.toThrow(/definition is invalid/);
  }, 60_000);

  it('shares one verdict between the same machine in different regions', async () => {
    const verdicts = validateMachines([
      spec('Same', 'us-east-1', valid('us-east-1')),
      spec('Same', 'ap-southeast-1', valid('ap-southeast-1')),
    ]);
    const [first, second] = [...verdicts.values()];
    expect(first).toBe(second);
    await expect(first).resolves.toBeUndefined();
  }, 60_000);

  it('keeps a valid verdict on disk for the next process, and never an invalid one', async () => {
    const unique = `Echo${Date.now().toString(36)}`;
    const good = spec('Kept', 'eu-west-1', {
      StartAt: unique,
      States: { [unique]: task('eu-west-1', 'Done'), Done: { Type: 'Succeed' } },
    });
    const bad = spec('NotKept', 'eu-west-1', {
      StartAt: unique,
      States: { [unique]: task('eu-west-1', 'X') },
    });
    const verdicts = validateMachines([good, bad]);
    await expect(verdicts.get(good)).resolves.toBeUndefined();
    await expect(verdicts.get(bad)).rejects.toThrow(/definition is invalid/);
    expect(existsSync(validVerdictFile(good))).toBe(true);
    expect(existsSync(validVerdictFile(bad))).toBe(false);
    rmSync(validVerdictFile(good));
  }, 60_000);
});
