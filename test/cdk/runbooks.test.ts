import aslValidator from 'asl-validator';
import type { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPAIR_MAX_CONCURRENCY, WATERMARK_POLL } from '../../cdk/constructs/runbooks/runbook-defaults.ts';
import { RUNBOOK_NAMES, type RunbookName } from '../../cdk/naming.ts';
import { FENCE_WINDOW, RollbackRefusedError } from '../../lib/runbooks/index.ts';
import { shippedTemplatesOf } from './support/app.ts';
import { type AslDefinition, type AslState, allStates, resolveDefinition } from './support/definition.ts';

type Handler = (payload: {
  runbook: string;
  task: string;
  input: Record<string, unknown>;
}) => Promise<unknown>;

let templates: Record<string, Template>;
beforeAll(async () => {
  templates = await shippedTemplatesOf('dev');
});

function definitions(region: string): Record<RunbookName, AslDefinition> {
  const machines = Object.values(templates[region]!.findResources('AWS::StepFunctions::StateMachine'));
  return Object.fromEntries(
    RUNBOOK_NAMES.map((name) => {
      const machine = machines.find((m) => m.Properties.StateMachineName === `multiactive-dev-${name}`);
      return [name, resolveDefinition(machine!.Properties.DefinitionString)];
    }),
  ) as Record<RunbookName, AslDefinition>;
}

/** Runs a synthesized machine with every Task bound to `handlers[task]` (default: return `{}`). */
function run(definition: AslDefinition, input: object, handlers: Record<string, Handler> = {}) {
  const calls: string[] = [];
  const local = Object.fromEntries(
    Object.entries(allStates(definition))
      .filter(([, state]) => state.Type === 'Task')
      .map(([name]) => [
        name,
        async (payload: Parameters<Handler>[0]) => {
          calls.push(name);
          // The other tiers' check succeeds unless a test says otherwise (its Choice reads caughtUp).
          const fallback = name.endsWith('CheckOtherTiers') ? { caughtUp: true } : {};
          return (await handlers[name]?.(payload)) ?? fallback;
        },
      ]),
  );
  const machine = new StateMachine(definition as never);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: local as never,
      waitTimeOverrides: {
        WaitForWatermark: 0,
        SwitchBackWaitForWatermark: 0,
        WaitForOtherTiers: 0,
        SwitchBackWaitForOtherTiers: 0,
      },
      retryIntervalOverrides: { Rollback: 0, SwitchBackRollback: 0 },
    },
  });
  return { result: execution.result, calls };
}

describe('runbook ASL', () => {
  it.each(RUNBOOK_NAMES)('%s passes asl-validator', (name) => {
    const { isValid, errorsText } = aslValidator(definitions('us-east-1')[name]);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('is the same in every region', () => {
    const reference = JSON.stringify(definitions('us-east-1'));
    expect(JSON.stringify(definitions('eu-west-1'))).toBe(reference);
    expect(JSON.stringify(definitions('ap-southeast-1'))).toBe(reference);
  });

  it('gives every task the payload contract, a timeout, retries on Lambda errors and a Catch (its own, or that of its Parallel)', () => {
    for (const [runbook, definition] of Object.entries(definitions('us-east-1'))) {
      // A task inside a Parallel branch cannot catch into a state outside it: the Parallel catches.
      const caughtBy = new Map<string, AslState>();
      for (const state of Object.values(allStates(definition)))
        for (const branch of state.Branches ?? [])
          for (const name of Object.keys(allStates(branch))) caughtBy.set(name, state);
      for (const [name, state] of Object.entries(allStates(definition))) {
        if (state.Type !== 'Task') continue;
        const catcher = caughtBy.get(name) ?? state;
        expect(state.Parameters, `${runbook}.${name}`).toEqual({
          runbook: expect.any(String),
          task: name,
          'input.$': '$',
        });
        expect(state.TimeoutSeconds, `${runbook}.${name}`).toBeGreaterThan(0);
        expect(state.Retry?.[0]?.ErrorEquals, `${runbook}.${name}`).toContain('Lambda.ServiceException');
        expect(catcher.Catch?.at(-1)?.ErrorEquals, `${runbook}.${name}`).toEqual(['States.ALL']);
      }
    }
  });

  it('times a re-homing Fence out only after its last compare-and-set may start, and lets Rollback outwait it', () => {
    const machines = definitions('us-east-1');
    for (const [runbook, prefix] of [
      ['Switchover', ''],
      ['Failback', 'SwitchBack'],
    ] as const) {
      const states = allStates(machines[runbook]);
      const fence = states[`${prefix}Fence`]!;
      const rollback = states[`${prefix}Rollback`]!;
      // The function keeps running after the task times out: its deadline must come first, with margin.
      expect(fence.TimeoutSeconds! * 1_000, `${runbook} fence`).toBeGreaterThan(
        FENCE_WINDOW.budgetMs + FENCE_WINDOW.settleMs,
      );
      // A Rollback without the Fence's result first waits budget + settle (+ skew), then does its work.
      expect(rollback.TimeoutSeconds! * 1_000, `${runbook} rollback`).toBeGreaterThanOrEqual(
        2 * (FENCE_WINDOW.budgetMs + FENCE_WINDOW.settleMs),
      );
    }
  });

  it('bounds the repair Map', () => {
    expect(definitions('us-east-1').Repair.States.RepairPartitions?.MaxConcurrency).toBe(
      REPAIR_MAX_CONCURRENCY,
    );
  });
});

describe('runbooks executed locally (aws-local-stepfunctions)', () => {
  it('Switchover fences, polls the watermark until caught up, moves home, unfences and verifies', async () => {
    let polls = 0;
    const { result, calls } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: ++polls >= 3 }),
      },
    );
    await expect(result).resolves.toMatchObject({ partitions: [7], watermarkPoll: { attempts: 3 } });
    expect(calls).toEqual([
      'Fence',
      'CheckWatermark',
      'CheckWatermark',
      'CheckWatermark',
      'VerifyProbe',
      'MoveHome',
      'Unfence',
      'CheckOtherTiers',
    ]);
  });

  it('Switchover moves the core home before the other tiers caught up, then waits for them before it succeeds', async () => {
    let polls = 0;
    const late = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: true }),
        CheckOtherTiers: async () => ({ caughtUp: ++polls >= 2 }),
      },
    );
    await expect(late.result).resolves.toMatchObject({ otherTiersPoll: { attempts: 2 } });
    expect(late.calls.indexOf('Unfence')).toBeLessThan(late.calls.indexOf('CheckOtherTiers'));

    const never = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: true }),
        CheckOtherTiers: async () => ({ caughtUp: false }),
      },
    );
    await expect(never.result).rejects.toThrow(/rolled back/);
    expect(never.calls.filter((c) => c === 'CheckOtherTiers')).toHaveLength(WATERMARK_POLL.maxAttempts);
    expect(never.calls.at(-1)).toBe('Rollback');
  });

  it('Switchover rolls back and fails when a step fails', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: true }),
        Unfence: async () => {
          throw new Error('control table unreachable');
        },
      },
    );
    // The error carries the Fail state's cause.
    await expect(result).rejects.toThrow(/rolled back/);
    expect(calls.slice(-2)).toEqual(['Unfence', 'Rollback']);
  });

  it('Switchover retries a Rollback that fails (a quorum lost for a moment) before giving up', async () => {
    const rollback = definitions('us-east-1').Switchover.States.Rollback as {
      Retry?: Array<{ ErrorEquals: string[] }>;
    };
    expect(rollback.Retry?.at(-1)).toMatchObject({
      ErrorEquals: ['States.ALL'],
      MaxAttempts: 4,
      BackoffRate: 2,
    });
    let failures = 2;
    const { result, calls } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: true }),
        Unfence: async () => {
          throw new Error('control table unreachable');
        },
        Rollback: async () => {
          if (failures-- > 0) throw new Error('QuorumUnavailableError');
          return { restored: [] };
        },
      },
    );
    await expect(result).rejects.toThrow(/rolled back/); // SwitchoverFailed, not RollbackFailed
    expect(calls.filter((c) => c === 'Rollback')).toHaveLength(3);
  });

  it('Switchover draws one run id per execution and hands it to every task', async () => {
    const seen: unknown[] = [];
    const record: Handler = async ({ input }) => {
      seen.push((input.run as { id?: unknown } | undefined)?.id);
      return { caughtUp: true };
    };
    const { result } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      { Fence: record, CheckWatermark: record, MoveHome: record, Unfence: record },
    );
    await result;
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(1);
    expect(seen[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('Switchover ends in RollbackRefused, without retrying, when its Rollback refuses', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: true }),
        VerifyProbe: async () => {
          throw new Error('us-east-1 unreachable');
        },
        Rollback: async () => {
          throw new RollbackRefusedError('switchover', 'Rollback', [
            { partition: 7, why: 'stays with eu-west-1: us-east-1 is unreachable' },
          ]);
        },
      },
    );
    const error = await result.then(
      () => undefined,
      (e: Error) => e.cause as Error,
    );
    // The Fail state's error and cause (the refusal's message, with each partition and why).
    expect(error).toMatchObject({ name: 'RollbackRefused' });
    expect(error?.message).toMatch(/partition\(s\).*7 \(stays with eu-west-1/);
    expect(calls.filter((c) => c === 'Rollback')).toHaveLength(1);
  });

  it('Switchover checks the watermark right after the fence and waits only between checks', () => {
    for (const [machine, prefix] of [
      ['Switchover', ''],
      ['Failback', 'SwitchBack'],
    ] as const) {
      const states = allStates(definitions('us-east-1')[machine]) as Record<
        string,
        { Type: string; Next?: string; Seconds?: number }
      >;
      expect(states[`${prefix}StartWatermarkPoll`]?.Next).toBe(`${prefix}CheckWatermark`);
      expect(states[`${prefix}WaitForWatermark`]).toMatchObject({
        Seconds: WATERMARK_POLL.intervalSeconds,
        Next: `${prefix}CheckWatermark`,
      });
    }
  });

  it('Switchover gives up on a watermark that never catches up', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Switchover,
      { partitions: [7], to: 'eu-west-1' },
      {
        CheckWatermark: async () => ({ caughtUp: false }),
      },
    );
    await expect(result).rejects.toThrow(/rolled back/);
    expect(calls.filter((c) => c === 'CheckWatermark')).toHaveLength(WATERMARK_POLL.maxAttempts);
    expect(calls).not.toContain('MoveHome');
    expect(calls.at(-1)).toBe('Rollback');
  });

  it('Failover refuses when no majority confirms the region lost', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Failover,
      { region: 'eu-west-1' },
      {
        ConfirmRegionLost: async () => ({ confirmed: false }),
      },
    );
    await expect(result).rejects.toThrow(/refusing to fail over/);
    expect(calls).toEqual(['ConfirmRegionLost']);
  });

  it('Failover runs every step once the loss is confirmed', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Failover,
      { region: 'eu-west-1' },
      {
        ConfirmRegionLost: async ({ runbook, input }) => ({
          confirmed: runbook === 'failover' && input.region === 'eu-west-1',
        }),
      },
    );
    await expect(result).resolves.toBeDefined();
    expect(calls).toEqual([
      'ConfirmRegionLost',
      'ChooseNewHomes',
      'FencePartitions',
      'CollectCopies',
      'BumpEpochs',
      'DrainRegion',
      'RecordWatermarks',
    ]);
  });

  it('Failover drains and records side by side after BumpEpochs, and keeps every result at the top of its state', async () => {
    const inputs: Record<string, Record<string, unknown>> = {};
    const seen =
      (name: string, result: object): Handler =>
      async ({ input }) => {
        inputs[name] = input;
        return result;
      };
    const { result } = run(
      definitions('us-east-1').Failover,
      { region: 'eu-west-1', trigger: 'operator' },
      {
        ConfirmRegionLost: async () => ({ confirmed: true }),
        ChooseNewHomes: async () => ({ moves: [{ partition: 1, from: 'eu-west-1', to: 'us-east-1' }] }),
        BumpEpochs: async () => ({ moved: [{ partition: 1, home: 'us-east-1', epoch: 3 }] }),
        DrainRegion: seen('DrainRegion', { region: 'eu-west-1', traffic: 'drained' }),
        RecordWatermarks: seen('RecordWatermarks', { record: { region: 'eu-west-1' } }),
      },
    );
    const output = (await result) as Record<string, unknown>;

    // Both ran after the partition tasks: each saw BumpEpochs' result, and neither the other's.
    expect(inputs.DrainRegion?.bumpEpochs).toEqual({
      moved: [{ partition: 1, home: 'us-east-1', epoch: 3 }],
    });
    expect(inputs.RecordWatermarks?.chooseNewHomes).toMatchObject({ moves: [{ partition: 1 }] });
    expect(inputs.DrainRegion).not.toHaveProperty('recordWatermarks');
    expect(inputs.RecordWatermarks).not.toHaveProperty('drainRegion');
    // The final state is what the one-after-the-other machine produced (readers use these keys).
    expect(output).toEqual({
      region: 'eu-west-1',
      trigger: 'operator',
      confirmRegionLost: { confirmed: true },
      chooseNewHomes: { moves: [{ partition: 1, from: 'eu-west-1', to: 'us-east-1' }] },
      fencePartitions: {},
      collectCopies: {},
      bumpEpochs: { moved: [{ partition: 1, home: 'us-east-1', epoch: 3 }] },
      drainRegion: { region: 'eu-west-1', traffic: 'drained' },
      recordWatermarks: { record: { region: 'eu-west-1' } },
    });
  });

  it.each(['DrainRegion', 'RecordWatermarks'])(
    'Failover ends in FailoverFailed when %s fails beside the other',
    async (failing) => {
      const { result, calls } = run(
        definitions('us-east-1').Failover,
        { region: 'eu-west-1' },
        {
          ConfirmRegionLost: async () => ({ confirmed: true }),
          [failing]: async () => {
            throw new Error('replica unreachable');
          },
        },
      );
      await expect(result).rejects.toThrow(/start the runbook again/);
      expect(calls).toContain(failing);
    },
  );

  it('Failback switches back only when asked', async () => {
    const plain = run(definitions('us-east-1').Failback, { region: 'eu-west-1' });
    await plain.result;
    expect(plain.calls).toEqual([
      'CatchUp',
      'FindOrphans',
      'ReconcileImportant',
      'QueueCoreOrphans',
      'Undrain',
    ]);
    const back = run(
      definitions('us-east-1').Failback,
      { region: 'eu-west-1', switchBack: true },
      { SwitchBackCheckWatermark: async () => ({ caughtUp: true }) },
    );
    await back.result;
    expect(back.calls.slice(4)).toEqual([
      'SwitchBackFence',
      'SwitchBackCheckWatermark',
      'SwitchBackMoveHome',
      'SwitchBackUnfence',
      'SwitchBackCheckOtherTiers',
      'Undrain',
    ]);
  });

  it('Failback switches back like Switchover: polls until the region caught up, else rolls back and fails drained', async () => {
    let polls = 0;
    const late = run(
      definitions('us-east-1').Failback,
      { region: 'eu-west-1', switchBack: true },
      { SwitchBackCheckWatermark: async () => ({ caughtUp: ++polls >= 2 }) },
    );
    await expect(late.result).resolves.toMatchObject({ switchBackWatermarkPoll: { attempts: 2 } });
    expect(late.calls.filter((c) => c === 'SwitchBackCheckWatermark')).toHaveLength(2);

    const never = run(
      definitions('us-east-1').Failback,
      { region: 'eu-west-1', switchBack: true },
      { SwitchBackCheckWatermark: async () => ({ caughtUp: false }) },
    );
    await expect(never.result).rejects.toThrow(/did not catch up in time, and was rolled back/);
    expect(never.calls.filter((c) => c === 'SwitchBackCheckWatermark')).toHaveLength(
      WATERMARK_POLL.maxAttempts,
    );
    expect(never.calls).not.toContain('SwitchBackMoveHome');
    expect(never.calls).not.toContain('Undrain');
    expect(never.calls.at(-1)).toBe('SwitchBackRollback');
  });

  it('Failback ends in RollbackRefused when its switch-back rollback refuses', async () => {
    const { result, calls } = run(
      definitions('us-east-1').Failback,
      { region: 'eu-west-1', switchBack: true },
      {
        SwitchBackCheckWatermark: async () => ({ caughtUp: true }),
        SwitchBackUnfence: async () => {
          throw new Error('timed out');
        },
        SwitchBackRollback: async () => {
          throw new RollbackRefusedError('switchover', 'Rollback', [{ partition: 3, why: 'x' }]);
        },
      },
    );
    await expect(result).rejects.toMatchObject({ cause: { name: 'RollbackRefused' } });
    expect(calls.at(-1)).toBe('SwitchBackRollback');
    expect(calls).not.toContain('Undrain');
  });

  it('Repair maps over partitions, keeps going past a failed one and reports all of them', async () => {
    let reported: unknown;
    const { result } = run(
      definitions('us-east-1').Repair,
      {},
      {
        ListPartitions: async () => ({
          partitions: [1, 2, 3].map((partition) => ({ partition, peers: ['eu-west-1'] })),
        }),
        Diff: async ({ input }) => {
          if (input.partition === 2) throw new Error('peer unreachable');
          return { ranges: [] };
        },
        Replay: async ({ input }) => ({ partition: input.partition, replayed: 0 }),
        Report: async ({ input }) => {
          reported = input.repairPartitions;
          return { ok: true };
        },
      },
    );
    await result;
    expect(reported).toEqual([
      { partition: 1, replayed: 0 },
      { partition: 2, error: expect.objectContaining({ Error: expect.any(String) }) },
      { partition: 3, replayed: 0 },
    ]);
  });

  it('ResolveConflict loads the conflict, then appends the resolution', async () => {
    const { result, calls } = run(definitions('us-east-1').ResolveConflict, { conflictId: 'c1' });
    await result;
    expect(calls).toEqual(['LoadConflict', 'AppendResolution']);
  });
});
