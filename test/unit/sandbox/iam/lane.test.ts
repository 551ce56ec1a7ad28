import { beforeAll, describe, expect, it } from 'vitest';
import { withBug } from '../../../../lib/faults/index.ts';
import { queuesOf, sqsMappingsOf } from '../../../../lib/sandbox/cdk/queues.ts';
import type { StackTemplates } from '../../../../lib/sandbox/cdk/templates.ts';
import { type Caller, IamAuthorizer, type IamModel, iamModelOf } from '../../../../lib/sandbox/iam/index.ts';
import { shippedTemplates } from '../../../support/templates.ts';

/** The ordinary lane of dev's eu-west-1 cell as the sandbox reads it: queue, mapping, and who may touch them. */
const DEV = '111111111111';
const REGION = 'eu-west-1';
const LANE = `arn:aws:sqs:${REGION}:${DEV}:multiactive-dev-ordinary-lane`;
const LANE_DLQ = `arn:aws:sqs:${REGION}:${DEV}:multiactive-dev-ordinary-lane-dead-letters`;
const REDRIVE = `arn:aws:sqs:${REGION}:${DEV}:multiactive-dev-applier-failures`;
const role = (name: string): Caller => ({
  kind: 'role',
  roleArn: `arn:aws:iam::${DEV}:role/multiactive-dev-${REGION}-${name}`,
  session: name,
  label: `${REGION}/${name}`,
});
const rule = (name: string): Caller => ({
  kind: 'service',
  service: 'events.amazonaws.com',
  sourceArn: `arn:aws:events:${REGION}:${DEV}:rule/multiactive-dev-bus/${name}`,
  label: name,
});

let templates: StackTemplates;
let model: IamModel;
beforeAll(async () => {
  const shipped = await shippedTemplates('dev');
  templates = shipped.templates;
  model = iamModelOf(shipped.deployed);
}, 180_000);

async function allowed(caller: Caller, action: string, resource: string): Promise<boolean> {
  return (await new IamAuthorizer(model).decide(caller, { action, resource })).allowed;
}

describe('the ordinary lane in the synthesized templates', () => {
  it('reads the queue settings and the mapping the sandbox runs', () => {
    const template = templates[`multiactive-dev-${REGION}`]!;
    const env = { region: REGION, account: DEV };
    expect(queuesOf(template, env).find((q) => q.arn === LANE)).toEqual({
      arn: LANE,
      name: 'multiactive-dev-ordinary-lane',
      visibilityTimeoutMs: 360_000,
      // SQS's largest (1 MiB): any EventBridge event (at most 256 KiB) fits.
      maxMessageBytes: 1_048_576,
      redrive: { deadLetterArn: LANE_DLQ, maxReceiveCount: 5 },
    });
    const byQueue = (a: { queueArn: string }, b: { queueArn: string }) =>
      a.queueArn.localeCompare(b.queueArn);
    expect(sqsMappingsOf(template, env).sort(byQueue)).toEqual([
      // applier-failures, redriven to the applier one record at a time.
      {
        functionName: 'multiactive-dev-applier',
        queueArn: REDRIVE,
        batchSize: 1,
        maxBatchingWindowMs: 0,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      },
      {
        functionName: 'multiactive-dev-applier',
        queueArn: LANE,
        batchSize: 100,
        maxBatchingWindowMs: 5_000,
        reportBatchItemFailures: true,
        // ordinaryLane.maxConcurrency, as ScalingConfig.MaximumConcurrency.
        maxConcurrency: 5,
      },
    ]);
    expect(queuesOf(template, env).find((q) => q.arn === REDRIVE)).toMatchObject({
      visibilityTimeoutMs: 360_000,
      redrive: { deadLetterArn: `${REDRIVE}-dead-letters`, maxReceiveCount: 60 },
    });
  });

  it('runs the build a CDK bug switch breaks: with applier-failures-not-redriven on, the sandbox reads no redrive mapping', async () => {
    // The sandbox synthesizes in a child process: the switch must reach it, and the sound templates in the
    // cache must not be served instead (their key includes the switches on).
    const broken = await withBug('applier-failures-not-redriven', () => shippedTemplates('dev'));
    const env = { region: REGION, account: DEV };
    const queuesFed = (t: StackTemplates) =>
      sqsMappingsOf(t[`multiactive-dev-${REGION}`]!, env)
        .map((m) => m.queueArn)
        .sort();
    expect(queuesFed(broken.templates)).toEqual([LANE]);
    expect(queuesFed(templates)).toEqual([REDRIVE, LANE].sort());
  }, 240_000);

  it("lets the applier's role send its failed invocations to applier-failures and back them off there, and no other function's", async () => {
    expect(await allowed(role('applier'), 'sqs:SendMessage', REDRIVE)).toBe(true);
    expect(await allowed(role('applier'), 'sqs:ChangeMessageVisibility', REDRIVE)).toBe(true);
    expect(await allowed(role('api'), 'sqs:SendMessage', REDRIVE)).toBe(false);
  });

  it('lets only the lane rule send to the queue (its policy), not the apply rule nor a function', async () => {
    expect(await allowed(rule('multiactive-dev-ordinary-lane'), 'sqs:SendMessage', LANE)).toBe(true);
    expect(await allowed(rule('multiactive-dev-apply'), 'sqs:SendMessage', LANE)).toBe(false);
    expect(await allowed(role('api'), 'sqs:SendMessage', LANE)).toBe(false);
  });

  it("lets the applier's role receive and delete lane messages, and no other function's", async () => {
    expect(await allowed(role('applier'), 'sqs:ReceiveMessage', LANE)).toBe(true);
    expect(await allowed(role('applier'), 'sqs:DeleteMessage', LANE)).toBe(true);
    // Backing off a failed record.
    expect(await allowed(role('applier'), 'sqs:ChangeMessageVisibility', LANE)).toBe(true);
    expect(await allowed(role('api'), 'sqs:ReceiveMessage', LANE)).toBe(false);
    expect(await allowed(role('publisher'), 'sqs:DeleteMessage', LANE)).toBe(false);
    // Nor the lane's dead letters: those are an operator's to redrive.
    expect(await allowed(role('applier'), 'sqs:ReceiveMessage', LANE_DLQ)).toBe(false);
  });
});
