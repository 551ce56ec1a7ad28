import aslValidator from 'asl-validator';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SAGA_RETRIES } from '../../cdk/constructs/sagas/saga-defaults.ts';
import { shippedTemplatesOf } from './support/app.ts';
import { type AslDefinition, allStates, resolveDefinition } from './support/definition.ts';

let templates: Record<string, Template>;
beforeAll(async () => {
  templates = await shippedTemplatesOf('dev');
});

function sagaMachine(region: string) {
  const machines = Object.values(templates[region]!.findResources('AWS::StepFunctions::StateMachine'));
  return machines.find((m) => m.Properties.StateMachineName === 'multiactive-dev-Saga')!;
}

type Task = (payload: { task: string; input: Record<string, unknown> }) => Promise<unknown>;

/** Runs the synthesized Saga machine with its tasks bound to `handlers` (retries without waiting). */
async function run(handlers: Record<string, Task>) {
  const definition = resolveDefinition(sagaMachine('us-east-1').Properties.DefinitionString) as AslDefinition;
  const calls: Array<{ task: string; input: Record<string, unknown> }> = [];
  const tasks = Object.entries(allStates(definition)).filter(([, s]) => s.Type === 'Task');
  const local = Object.fromEntries(
    tasks.map(([name]) => [
      name,
      async (payload: Parameters<Task>[0]) => {
        calls.push(payload);
        return (await handlers[name]?.(payload)) ?? {};
      },
    ]),
  );
  const retries = Object.fromEntries(tasks.map(([name, s]) => [name, (s.Retry ?? []).map(() => 0)]));
  const execution = new StateMachine(definition as never).run({ saga: 'transfer', sagaId: 'tr-1' } as never, {
    overrides: { taskResourceLocalHandlers: local as never, retryIntervalOverrides: retries },
  });
  const result = await execution.result.then(
    (output) => ({ status: 'SUCCEEDED', output }),
    (error: Error) => ({ status: 'FAILED', message: error.message }),
  );
  return { result, calls };
}

const failing = (name: string) => async () => {
  const error = new Error('home unreachable');
  error.name = name;
  throw error;
};

describe('Saga state machine (every region)', () => {
  it('is a standard machine named multiactive-<env>-Saga, traced and fully logged, in every region', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      templates[region]!.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: 'multiactive-dev-Saga',
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      });
    }
  });

  it('passes asl-validator', () => {
    const { isValid, errorsText } = aslValidator(
      resolveDefinition(sagaMachine('us-east-1').Properties.DefinitionString),
    );
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('tries, decides and confirms, each task given the saga and the results so far', async () => {
    const { result, calls } = await run({ Decide: async () => ({ outcome: 'confirm' }) });
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.map((c) => c.task)).toEqual(['Try', 'Decide', 'Confirm']);
    expect(calls[2]!.input).toMatchObject({
      saga: 'transfer',
      sagaId: 'tr-1',
      decide: { outcome: 'confirm' },
    });
  });

  it('cancels when Try still fails after its retries: Decide is told why', async () => {
    const { result, calls } = await run({
      Try: failing('SagaStepUnavailable'),
      Decide: async () => ({ outcome: 'cancel' }),
    });
    expect(result.status).toBe('SUCCEEDED');
    // MaxAttempts counts retries after the first attempt.
    expect(calls.map((c) => c.task)).toEqual([
      ...Array(1 + SAGA_RETRIES.Try).fill('Try'),
      'Decide',
      'Cancel',
    ]);
    expect(calls.at(-2)!.input).toMatchObject({ tryError: { Error: 'SagaStepUnavailable' } });
  });

  it('ends in doubt (for the sweep to resume) when Confirm still fails after its retries', async () => {
    const { result, calls } = await run({
      Decide: async () => ({ outcome: 'confirm' }),
      Confirm: failing('SagaStepUnavailable'),
    });
    // The error carries the Fail state's cause.
    expect(result).toEqual({
      status: 'FAILED',
      message: expect.stringMatching(/recovery sweep of its home resumes it/),
    });
    expect(calls.filter((c) => c.task === 'Confirm')).toHaveLength(1 + SAGA_RETRIES.Confirm);
  });

  it('sweeps every minute: a schedule invokes the saga function with { task: "Sweep" }', () => {
    const template = templates['eu-west-1']!;
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.ScheduleExpression === 'rate(1 minute)' && JSON.stringify(r).includes('Sweep'),
    );
    expect(rules).toHaveLength(1);
    const target = rules[0]!.Properties.Targets[0];
    expect(JSON.parse(target.Input)).toEqual({ task: 'Sweep' });
    expect(JSON.stringify(target.Arn)).toContain('Functionssaga');
  });

  it('indexes the state table by due time (the sweep finds sagas in doubt without a scan)', () => {
    templates['us-east-1']!.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'multiactive-dev-state',
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byDue',
          KeySchema: [
            { AttributeName: 'dueKey', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('lets the API and the saga function start executions of their own region’s Saga machine only', () => {
    const template = templates['ap-southeast-1']!;
    const arn = 'arn:aws:states:ap-southeast-1:111111111111:stateMachine:multiactive-dev-Saga';
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const starting = policies.filter((p) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>).some(
        (s) => s.Action === 'states:StartExecution' && s.Resource === arn,
      ),
    );
    expect(starting.map((p) => String(p.Properties.PolicyName)).sort()).toEqual([
      expect.stringMatching(/^Functionsapi/),
      expect.stringMatching(/^Functionssaga/),
    ]);
  });
});

describe('the saga function under core.ack quorum', () => {
  /** The peers' tables the saga function may PutItem into, from its policies in `region`'s stack. */
  function peerPuts(all: Record<string, Template>, region: string): string[] {
    const policies = Object.values(all[region]!.findResources('AWS::IAM::Policy')).filter((p) =>
      String(p.Properties.PolicyName).startsWith('Functionssaga'),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>,
    );
    return statements
      .filter((s) => [s.Action].flat().includes('dynamodb:PutItem'))
      .flatMap((s) => [s.Resource].flat().map(String))
      .filter((arn) => !arn.includes(`:${region}:`))
      .map((arn) => arn.replace(/^arn:aws:dynamodb:/, '').replace(/:\d+:table\//, ' '))
      .sort();
  }

  it('may copy its steps into the peers’ logs as the API does in prod, and not in dev', async () => {
    const prod = await shippedTemplatesOf('prod');
    // control, events, replication: the copy; state: a peer's row rebuilt after its copy retires a branch.
    expect(peerPuts(prod, 'eu-west-1')).toEqual(
      ['ap-southeast-1', 'us-east-1']
        .flatMap((peer) =>
          ['control', 'events', 'replication', 'state'].map((table) => `${peer} multiactive-prod-${table}`),
        )
        .sort(),
    );
    // dev acknowledges core writes locally: only the quorum register's control tables.
    expect(peerPuts(templates, 'eu-west-1')).toEqual([
      'ap-southeast-1 multiactive-dev-control',
      'us-east-1 multiactive-dev-control',
    ]);
  });
});
