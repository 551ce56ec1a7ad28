import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCliApplication } from '../../../bin/cli/application.ts';
import { runRunbook } from '../../../bin/cli/runbook.ts';
import { stateMachineArn } from '../../../cdk/naming.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { executionNameFor } from '../../../lib/ops/execution-name.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

// The commands read the application as the CLI loads it before an action (`--config`).
beforeAll(() => loadCliApplication(BANK_CONFIG));

// Step Functions mocked at the SDK boundary only: the CLI's runbook command against `--env prod`.
const sfn = mockClient(SFNClient);
const prod = bank.topology('prod');
const NOW = new Date('2026-11-30T14:05:00Z');
const machine = stateMachineArn(prod, 'eu-west-1', 'Failover');
const input = { region: 'us-east-1', trigger: 'operator' };
const name = executionNameFor('Failover', input, NOW);
const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${name}`;

const at = (s: number) => new Date(Date.parse('2026-11-30T14:05:01Z') + s * 1000);
/** A Failover history as GetExecutionHistory pages it (two pages). */
function failoverHistory(): HistoryEvent[] {
  const names = ['ConfirmRegionLost', 'ChooseNewHomes', 'BumpEpochs', 'DrainRegion', 'RecordWatermarks'];
  const events: HistoryEvent[] = [
    {
      id: 1,
      timestamp: at(0),
      type: 'ExecutionStarted',
      executionStartedEventDetails: { input: JSON.stringify(input) },
    },
  ];
  names.forEach((n, i) => {
    const base = events.length;
    events.push(
      { id: base + 1, timestamp: at(i), type: 'TaskStateEntered', stateEnteredEventDetails: { name: n } },
      { id: base + 2, timestamp: at(i), type: 'TaskScheduled' },
      { id: base + 3, timestamp: at(i + 0.5), type: 'TaskSucceeded' },
      { id: base + 4, timestamp: at(i + 0.5), type: 'TaskStateExited', stateExitedEventDetails: { name: n } },
    );
  });
  events.push({
    id: events.length + 1,
    timestamp: at(5),
    type: 'ExecutionSucceeded',
    executionSucceededEventDetails: { output: '{"recordWatermarks":{}}' },
  });
  return events;
}

beforeEach(() => sfn.reset());
afterEach(() => sfn.reset());

function mockRun(describes: Array<'RUNNING' | 'SUCCEEDED'>) {
  const history = failoverHistory();
  let polls = 0;
  sfn.on(DescribeExecutionCommand).callsFake(() => {
    const status = describes[Math.min(polls++, describes.length - 1)]!;
    return {
      executionArn,
      name,
      stateMachineArn: machine,
      status,
      startDate: at(0),
      ...(status === 'SUCCEEDED' ? { stopDate: at(5), output: '{}' } : {}),
      input: JSON.stringify(input),
    };
  });
  sfn.on(GetExecutionHistoryCommand).callsFake((request: { nextToken?: string }) => {
    // While running, the history has the first two steps; then all of it, in two pages.
    const visible = polls <= 1 ? history.slice(0, 9) : history;
    return request.nextToken
      ? { events: visible.slice(10) }
      : { events: visible.slice(0, 10), nextToken: visible.length > 10 ? 'page-2' : undefined };
  });
}

describe('multiactive runbook failover us-east-1 --env prod (AWS, mocked SDK)', () => {
  it('starts the deployed state machine (ARN from cdk/naming) under the idempotent name and follows it step by step', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: at(0) });
    mockRun(['RUNNING', 'SUCCEEDED']);
    const outcome = await runRunbook('Failover', {
      env: 'prod',
      region: 'us-east-1',
      json: true,
      now: NOW,
      pollMs: 0,
    });
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start).toEqual({
      stateMachineArn: 'arn:aws:states:eu-west-1:222222222222:stateMachine:multiactive-prod-Failover',
      name,
      input: JSON.stringify(input),
    });
    expect(name).toMatch(/^Failover-[0-9a-f]{16}-20261130T14$/);
    expect(await sfn.call(0).thisValue.config.region()).toBe('eu-west-1');
    expect(outcome.existing).toBe(false);
    expect(outcome.progress?.execution.status).toBe('SUCCEEDED');
    expect(outcome.progress?.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'ConfirmRegionLost:succeeded',
      'ChooseNewHomes:succeeded',
      'BumpEpochs:succeeded',
      'DrainRegion:succeeded',
      'RecordWatermarks:succeeded',
    ]);
    expect(outcome.progress?.steps[0]).toMatchObject({
      startedAt: at(0).getTime(),
      endedAt: at(0.5).getTime(),
    });
    expect(
      sfn.commandCalls(GetExecutionHistoryCommand).some((c) => c.args[0].input.nextToken === 'page-2'),
    ).toBe(true);
  });

  it('the same command again follows the execution it already started instead of starting another', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    mockRun(['SUCCEEDED']);
    const outcome = await runRunbook('Failover', {
      env: 'prod',
      region: 'us-east-1',
      json: true,
      now: NOW,
      pollMs: 0,
    });
    expect(outcome).toMatchObject({ executionArn, existing: true });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input).toEqual({ executionArn });
  });

  it('--dry-run prints the plan and calls nothing; a switchover is refused unless confirmed', async () => {
    const plan = await runRunbook('Switchover', {
      env: 'prod',
      partitions: [17, 42],
      to: 'eu-west-1',
      dryRun: true,
      json: true,
    });
    expect(plan.plan).toMatchObject({
      runbook: 'Switchover',
      runsIn: 'eu-west-1',
      input: { partitions: [17, 42], to: 'eu-west-1' },
    });
    expect(plan.plan.unavailability.important).toContain('none');
    await expect(
      runRunbook('Switchover', {
        env: 'prod',
        partitions: [17],
        to: 'eu-west-1',
        json: true,
        confirm: async () => false,
      }),
    ).rejects.toThrow(/not confirmed/);
    expect(sfn.calls()).toHaveLength(0);
  });
});
