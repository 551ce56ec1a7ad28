import { describe, expect, it } from 'vitest';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import { DATA_LIMIT_EXCEEDED, StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';

/**
 * Review 2 of i15-failover (e17ece5): checkCombinedResult keeps ONE raw result per Parallel/Map name and
 * its doc says that with a Parallel inside concurrent Map iterations this "can only overstate the result".
 * It can understate: each iteration's StateEntered of the Parallel RESETS the name's tally, and a branch's
 * output is stored under its branch index, so another iteration's branch 0 overwrites this one's.
 *
 * Interleaving (a Map of two items run at once, each iteration a Parallel 'Inner' of tasks L and R, each
 * returning `size` bytes): both iterations enter Inner (the second resets the tally); big's L exits
 * (slot 0 = 140 kB); small's L exits (slot 0 = 10 B, overwriting big's); big's R exits (slot 1 = 140 kB):
 * the tally is ~140 kB, never over 256 KiB. On AWS big's Inner has a raw result [140 kB, 140 kB] = ~280 kB
 * > 262144 bytes -> States.DataLimitExceeded (uncatchable) before its ResultSelector; the sandbox SUCCEEDS.
 * The invocations are ordered with gates (no timing): each waits for the one before it to have returned.
 */
const region = 'eu-west-1';
const fn = (name: string) => `arn:aws:lambda:${region}:111111111111:function:${name}`;
const spec = (definition: AslDefinition): StateMachineSpec => ({
  name: 'ParallelInMap',
  region,
  arn: `arn:aws:states:${region}:111111111111:stateMachine:ParallelInMap`,
  definition,
});

const branch = (name: string) => ({
  StartAt: name,
  States: { [name]: { Type: 'Task', Resource: fn(name), End: true } },
});

const definition = {
  StartAt: 'Each',
  States: {
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      Iterator: {
        StartAt: 'Inner',
        States: {
          Inner: {
            Type: 'Parallel',
            Branches: [branch('L'), branch('R')],
            ResultSelector: { 'count.$': 'States.ArrayLength($)' },
            End: true,
          },
        },
      },
      ResultSelector: { 'count.$': 'States.ArrayLength($)' },
      End: true,
    },
  },
} as AslDefinition;

type Item = { id: string; size: number };

/** Runs the machine over `items`, releasing the task invocations in `order` (`<id>:<task>`). */
function runOrdered(items: Item[], order: string[]) {
  const done = new Map<string, () => void>();
  const returned = new Map(order.map((k) => [k, new Promise<void>((r) => done.set(k, r))]));
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const runner = new StateMachineRunner({
    machines: [spec(definition)],
    invoke: async (_region, name, payload) => {
      const { id, size } = payload as Item;
      const key = `${id}:${name}`;
      const before = order[order.indexOf(key) - 1];
      if (before) {
        await returned.get(before);
        for (let i = 0; i < 5; i++) await tick(); // let the previous exit reach the event log first
      }
      setTimeout(() => done.get(key)!(), 0);
      return { data: 'x'.repeat(size) };
    },
  });
  return runner.run(region, 'ParallelInMap', { items });
}

const big = { id: 'big', size: 140_000 };
const small = { id: 'small', size: 10 };

describe('review-failover-2: a Parallel inside concurrent Map iterations, raw result quota', () => {
  it('control: the big iteration alone fails with States.DataLimitExceeded (the check works without interleaving)', async () => {
    const result = await runOrdered([big], ['big:L', 'big:R']);
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
  });

  it("fails with States.DataLimitExceeded when one iteration's Parallel branches output over 256 KiB together", async () => {
    // Invocation order: big L, small L, big R, small R (each released once the previous returned).
    const result = await runOrdered([big, small], ['big:L', 'small:L', 'big:R', 'small:R']);
    // AWS: big's Inner raw result [{data: 140 kB}, {data: 140 kB}] is ~280 kB > 262144 bytes.
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
  });

  it('runs to SUCCEEDED when each iteration stays within the quota, though their Parallels together would not', async () => {
    // Each Inner's raw result is ~200 kB (under 262144 bytes); the two instances together ~400 kB.
    const a = { id: 'a', size: 100_000 };
    const b = { id: 'b', size: 100_000 };
    const result = await runOrdered([a, b], ['a:L', 'b:L', 'a:R', 'b:R']);
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
  });
});
