import { describe, expect, it } from 'vitest';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import {
  DATA_LIMIT_EXCEEDED,
  PAYLOAD_QUOTA_BYTES,
  StateMachineRunner,
} from '../../../lib/sandbox/state-machines/runner.ts';

const region = 'eu-west-1';
const fn = (name: string) => `arn:aws:lambda:${region}:111111111111:function:${name}`;
const spec = (definition: AslDefinition): StateMachineSpec => ({
  name: 'Quota',
  region,
  arn: `arn:aws:states:${region}:111111111111:stateMachine:Quota`,
  definition,
});

/** Grow (returns `bytes` of data, kept at $.grown) -> Use (called with the whole state) -> Done; every error caught into Recover. */
const machine: AslDefinition = {
  StartAt: 'Grow',
  States: {
    Grow: {
      Type: 'Task',
      Resource: fn('grow'),
      ResultPath: '$.grown',
      Next: 'Use',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
    },
    Use: {
      Type: 'Task',
      Resource: fn('use'),
      ResultPath: '$.used',
      Next: 'Done',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
    },
    Recover: { Type: 'Task', Resource: fn('recover'), End: true },
    Done: { Type: 'Succeed' },
  },
};

function runnerCalling(calls: string[]) {
  return new StateMachineRunner({
    machines: [spec(machine)],
    invoke: async (_region, name, payload) => {
      calls.push(name);
      if (name === 'grow') return { data: 'x'.repeat((payload as { bytes: number }).bytes) };
      return { ok: true };
    },
  });
}

describe('Step Functions quotas in the sandbox', () => {
  it('runs a machine whose data stays within 256 KiB', async () => {
    const calls: string[] = [];
    const result = await runnerCalling(calls).run(region, 'Quota', { bytes: 200_000 });
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toEqual(['grow', 'use']);
  });

  it('fails the execution with States.DataLimitExceeded, uncaught, when a task returns more than 256 KiB', async () => {
    const calls: string[] = [];
    const result = await runnerCalling(calls).run(region, 'Quota', { bytes: PAYLOAD_QUOTA_BYTES + 1 });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(DATA_LIMIT_EXCEEDED);
    expect(result.cause).toMatch(/'Grow' result is \d+ bytes/);
    // Terminal: neither the next task nor the States.ALL catcher ran.
    expect(calls).toEqual(['grow']);
  });

  it('stops before the next task when results add up past the quota in the state', async () => {
    const calls: string[] = [];
    // The result alone (~170 KB) fits; the state that carries it and a 100 KB input does not.
    const result = await runnerCalling(calls).run(region, 'Quota', {
      bytes: 170_000,
      padding: 'p'.repeat(100_000),
    });
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    expect(calls).toEqual(['grow']);
  });

  it('refuses an execution input over the quota at StartExecution', () => {
    const runner = runnerCalling([]);
    expect(() =>
      runner.start(region, 'Quota', { bytes: 1, padding: 'p'.repeat(PAYLOAD_QUOTA_BYTES) }),
    ).toThrow(/execution input .* must be at most 262144 bytes/);
  });
});

/**
 * A Parallel of two branch tasks (each called with the state, answering { ok }), the shape Failover's
 * DrainAndRecord had: `wholeState` branches keep the state (ResultPath $.x), the others output their
 * result alone; the ResultSelector keeps a small part either way. Then a Map whose iterations each
 * output their item twice, its ResultSelector keeping only the count.
 */
const combining = (wholeState: boolean): AslDefinition => {
  const branch = (name: string) => ({
    StartAt: name,
    States: {
      [name]: {
        Type: 'Task',
        Resource: fn(name),
        ...(wholeState ? { ResultPath: `$.${name}` } : {}),
        End: true,
      },
    },
  });
  return {
    StartAt: 'Both',
    States: {
      Both: {
        Type: 'Parallel',
        Branches: [branch('left'), branch('right')],
        ResultSelector: { 'count.$': 'States.ArrayLength($)' },
        ResultPath: '$.both',
        Next: 'Each',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
      },
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        Iterator: {
          StartAt: 'Item',
          States: { Item: { Type: 'Pass', Parameters: { 'a.$': '$', 'b.$': '$' }, End: true } },
        } as AslDefinition,
        ResultSelector: { 'count.$': 'States.ArrayLength($)' },
        ResultPath: '$.each',
        End: true,
      },
      Recover: { Type: 'Task', Resource: fn('recover'), End: true },
    },
  };
};

describe("a Parallel's or Map's raw result in the sandbox", () => {
  const run = (definition: AslDefinition, input: unknown, calls: string[] = []) =>
    new StateMachineRunner({
      machines: [spec(definition)],
      invoke: async (_region, name) => {
        calls.push(name);
        return { ok: true };
      },
    }).run(region, 'Quota', input);

  it('fails uncaught when the branches output the state twice past 256 KiB, though the selected result is small', async () => {
    const calls: string[] = [];
    const result = await run(combining(true), { padding: 'p'.repeat(140_000), items: [] }, calls);
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    expect(result.cause).toMatch(/'Both' result .* is at least \d+ bytes/);
    expect(calls).not.toContain('recover');
  });

  it('runs the same state when each branch outputs its result alone', async () => {
    const result = await run(combining(false), { padding: 'p'.repeat(140_000), items: [] });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ both: { count: 2 }, each: { count: 0 } });
  });

  it("holds a Map's iterations' outputs to the quota before its ResultSelector", async () => {
    const item = 'i'.repeat(50_000); // each iteration outputs it twice
    const fits = await run(combining(false), { items: [item, item] });
    expect(fits.status).toBe('SUCCEEDED');
    const over = await run(combining(false), { items: [item, item, item] });
    expect(over).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    expect(over.cause).toMatch(/'Each' result/);
  });
});
