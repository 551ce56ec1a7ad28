import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { rulesOfTemplate, targetInput } from '../../../lib/sandbox/cdk/rules.ts';
import { loadTemplates, PROJECT_ROOT, type StackTemplates } from '../../../lib/sandbox/cdk/templates.ts';
import type { EventBridgeEvent } from '../../../lib/sandbox/eventbridge/index.ts';
import { stateMachinesOf } from '../../../lib/sandbox/state-machines/definitions.ts';
import {
  notImplementedRunbook,
  type RunbookTaskRequest,
} from '../../../lib/sandbox/state-machines/runbook-port.ts';
import { StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

const env = { region: 'eu-west-1', account: '111111111111' };
const stackNames = ['us-east-1', 'eu-west-1', 'ap-southeast-1'].map((r) => `multiactive-dev-${r}`);
let templates: StackTemplates;

beforeAll(async () => {
  ({ templates } = await loadTemplates({
    topology: bank.topology('dev'),
    config: BANK_CONFIG,
    stackNames: [...stackNames, 'multiactive-dev-global'],
    cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
  }));
}, 120_000);

function runner(handler: (request: RunbookTaskRequest) => Promise<unknown>) {
  const machines = stateMachinesOf(templates['multiactive-dev-eu-west-1']!, env);
  return new StateMachineRunner({
    machines,
    waitScale: 0.001,
    invoke: async (region, functionName, payload) => {
      expect(region).toBe('eu-west-1');
      expect(functionName).toBe('multiactive-dev-runbook');
      return handler(payload as RunbookTaskRequest);
    },
  });
}

describe('synthesized rules', () => {
  it('reads the forwarding and applier rules of a regional stack with patterns, targets and retry policies', () => {
    const rules = rulesOfTemplate(templates['multiactive-dev-eu-west-1']!, env);
    const toUs = rules.find((r) => r.name === 'multiactive-dev-to-us-east-1')!;
    expect(toUs.busName).toBe('multiactive-dev-bus');
    expect(toUs.eventPattern).toEqual({
      source: ['multiactive.replication'],
      detail: { origin: ['eu-west-1'] },
    });
    expect(toUs.targets[0]!.arn).toBe('arn:aws:events:us-east-1:111111111111:event-bus/multiactive-dev-bus');
    const apply = rules.find((r) => r.name === 'multiactive-dev-apply')!;
    expect(apply.targets[0]!.arn).toBe(
      'arn:aws:lambda:eu-west-1:111111111111:function:multiactive-dev-applier',
    );
    expect(apply.targets[0]!.retryPolicy).toEqual({
      maximumRetryAttempts: 50,
      maximumEventAgeSeconds: 21_600,
    });
    expect(apply.targets[0]!.deadLetterArn).toMatch(/^arn:aws:sqs:eu-west-1:111111111111:/);
  });

  it('applies an input transformer the way EventBridge does', () => {
    // No synthesized rule transforms its input since the watchdogs replaced the alarm rules; the shape is
    // CloudFormation's (RuleTargetInput.fromObject with EventField paths).
    const target = {
      id: 'Target0',
      arn: 'arn:aws:states:eu-west-1:111111111111:stateMachine:multiactive-dev-Failover',
      inputTransformer: {
        InputPathsMap: { 'detail-alarmName': '$.detail.alarmName', time: '$.time' },
        InputTemplate:
          '{"trigger":"health-check-alarm","alarmName":<detail-alarmName>,"time":<time>,"quoted":"<time>"}',
      },
    };
    const event = {
      time: '2026-11-25T10:00:00Z',
      detail: { alarmName: 'multiactive-dev-health-us-east-1' },
    } as unknown as EventBridgeEvent;
    expect(targetInput(target, event)).toEqual({
      quoted: '2026-11-25T10:00:00Z',
      trigger: 'health-check-alarm',
      alarmName: 'multiactive-dev-health-us-east-1',
      time: '2026-11-25T10:00:00Z',
    });
  });
});

describe('synthesized state machines', () => {
  it('fails a Failover execution at its first task and surfaces the Lambda error', async () => {
    const result = await runner(notImplementedRunbook).run('eu-west-1', 'Failover', { region: 'us-east-1' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('FailoverFailed');
    expect(result.states).toEqual(['ConfirmRegionLost', 'FailoverFailed']);
    expect(result.taskErrors[0]).toMatchObject({
      state: 'ConfirmRegionLost',
      error: 'RunbookTaskNotImplemented',
    });
    expect(JSON.parse(result.taskErrors[0]!.cause)).toMatchObject({
      errorMessage: expect.stringContaining('ConfirmRegionLost'),
    });
  });

  it('passes each task { runbook, task, input } and keeps its result for the Choice states', async () => {
    const seen: RunbookTaskRequest[] = [];
    const result = await runner(async (request) => {
      seen.push(request);
      return { confirmed: false };
    }).run('eu-west-1', 'Failover', { region: 'us-east-1' });
    expect(seen[0]).toEqual({
      runbook: 'failover',
      task: 'ConfirmRegionLost',
      input: { region: 'us-east-1' },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RegionNotLost');
  });

  it('runs a Switchover through its scaled Wait loop to success once tasks are plugged in', async () => {
    let polls = 0;
    const result = await runner(async ({ task }) => {
      if (task === 'CheckWatermark') return { caughtUp: ++polls >= 3 };
      if (task === 'CheckOtherTiers') return { caughtUp: true };
      return { ok: true };
    }).run('eu-west-1', 'Switchover', { partitions: [1], to: 'eu-west-1' });
    expect(result.status).toBe('SUCCEEDED');
    // The first check comes right after the fence; a Wait only between checks.
    expect(result.states.filter((s) => s === 'WaitForWatermark')).toHaveLength(2);
    expect(result.states.indexOf('CheckWatermark')).toBeLessThan(result.states.indexOf('WaitForWatermark'));
    expect(result.states.at(-1)).toBe('SwitchoverSucceeded');
  });
});
