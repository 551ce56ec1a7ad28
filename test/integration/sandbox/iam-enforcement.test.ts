import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { staticInternalKey } from '../../../lib/auth/index.ts';
import { parseTopology } from '../../../lib/config/index.ts';
import { foldFullLog, SnapshotStore, snapshotOf } from '../../../lib/lifecycle/index.ts';
import {
  applierOwnership,
  DynamoControlReplica,
  FENCING_DEFAULTS,
  PartitionMap,
  QuorumRegister,
} from '../../../lib/ownership/index.ts';
import type { CfnTemplate } from '../../../lib/sandbox/cdk/templates.ts';
import { localClients } from '../../../lib/sandbox/dynamodb/clients.ts';
import {
  type DeployedTemplate,
  IamEnforcement,
  runAs,
  startExecutionCall,
} from '../../../lib/sandbox/iam/index.ts';
import { functionIam } from '../../../lib/sandbox/platform/function-iam.ts';
import { readinessCalls } from '../../../lib/sandbox/platform/scheduled-readiness.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { accountLog } from '../../support/core-history.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { READINESS_OPERATIONS } from '../../support/readiness.ts';
import { synthesizeEnvironment } from '../../support/templates.ts';

const REGION = 'us-east-1';
let region: TestRegion;
let deployed: DeployedTemplate[];

beforeAll(async () => {
  region = await freshRegion(REGION, 'iam');
  // The dev topology under this test's environment name, so the grants name the tables just created.
  const topology = parseTopology({ ...bank.topology('dev'), name: region.env });
  deployed = synthesizeEnvironment(topology).deployed;
}, 120_000);

/** The templates with `action` removed from every statement of `roleName`'s policies on `resource`. */
function withoutGrant(
  roleName: string,
  action: string,
  resource: string | readonly string[],
): DeployedTemplate[] {
  const removed = [resource].flat();
  return deployed.map(({ template, env }) => {
    const copy = structuredClone(template) as CfnTemplate;
    const roleIds = Object.entries(copy.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === roleName)
      .map(([id]) => id);
    for (const resourceDef of Object.values(copy.Resources)) {
      const p = resourceDef.Properties as
        | { Roles?: Array<{ Ref?: string }>; PolicyDocument?: { Statement: Array<Record<string, unknown>> } }
        | undefined;
      if (resourceDef.Type !== 'AWS::IAM::Policy' || !p?.Roles?.some((r) => roleIds.includes(r.Ref ?? '')))
        continue;
      for (const statement of p.PolicyDocument?.Statement ?? []) {
        const resources = [statement.Resource].flat();
        if (!resources.some((r) => removed.includes(r as string))) continue;
        statement.Action = [statement.Action].flat().filter((a) => a !== action);
      }
    }
    return { template: copy, env };
  });
}

/** A fresh client on the test region's DynamoDB Local with IAM in front of it. */
function guardedStore(templates: DeployedTemplate[]) {
  const iam = IamEnforcement.fromTemplates(templates);
  const clients = localClients(inject('dynamoEndpoint'), REGION);
  iam.instrument(clients.dynamodb, 'dynamodb', { region: REGION });
  iam.instrument(clients.streams, 'streams', { region: REGION });
  const store = new EventStore({
    client: clients.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  return { iam, clients, store, api: iam.functionCaller(REGION, region.env, 'api') };
}

const eventsArn = () => `arn:aws:dynamodb:${REGION}:111111111111:table/${region.tables.events}`;
const unguarded = () => new EventStore({ client: region.doc, tableName: region.tables.events });

describe('IAM enforced on the SDK clients of the sandbox', () => {
  it("lets the API's role append a core event, as the synthesized grants allow", async () => {
    const { iam, store, api } = guardedStore(deployed);
    const event = sampleEnvelope({ aggregateId: 'iam-allowed', seq: 1 });
    await runAs(api, () => store.appendEvents([event], { tier: 'core' }));
    expect((await unguarded().loadStream(event.aggregateType, 'iam-allowed')).map((e) => e.eventId)).toEqual([
      event.eventId,
    ]);
    expect(iam.report()).toMatchObject({ checked: 1, denied: 0 });
    expect(iam.usageRows()).toEqual([
      expect.objectContaining({
        service: 'dynamodb',
        caller: `${REGION}/api`,
        // A core append is one transaction: the event and its core marker (lib/store/core-markers.ts).
        operation: 'dynamodb:TransactWriteItems',
        requests: 1,
        items: 2,
        denied: 0,
      }),
    ]);
  });

  it('fails the same append with AccessDeniedException once the grant is removed from the template, and writes nothing', async () => {
    const roleName = `multiactive-${region.env}-${REGION}-api`;
    const { iam, store, api } = guardedStore(withoutGrant(roleName, 'dynamodb:PutItem', eventsArn()));
    const event = sampleEnvelope({ aggregateId: 'iam-denied', seq: 1 });
    const failure = await runAs(api, () => store.appendEvents([event], { tier: 'core' })).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DynamoDBServiceException);
    expect(failure).toMatchObject({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: `User: arn:aws:sts::111111111111:assumed-role/${roleName}/multiactive-${region.env}-api is not authorized to perform: dynamodb:PutItem on resource: ${eventsArn()} because no identity-based policy allows the dynamodb:PutItem action`,
    });
    expect(await unguarded().loadStream(event.aggregateType, 'iam-denied')).toEqual([]);
    expect(iam.report()).toMatchObject({ checked: 1, denied: 1 });
    expect(iam.report().denials[0]).toMatchObject({
      caller: `${REGION}/api`,
      operation: 'dynamodb:TransactWriteItems',
    });
  });

  it("refuses the API's role the stream the publisher's event source mapping reads", async () => {
    const { iam, clients, api } = guardedStore(deployed);
    const publisher = iam.functionCaller(REGION, region.env, 'publisher');
    const listed = await runAs(publisher, () =>
      clients.streams.send(new ListStreamsCommand({ TableName: region.tables.events })),
    );
    const stream = listed.Streams?.[0]?.StreamArn;
    expect(stream).toBeDefined();
    await runAs(publisher, () => clients.streams.send(new DescribeStreamCommand({ StreamArn: stream })));
    await expect(
      runAs(api, () => clients.streams.send(new DescribeStreamCommand({ StreamArn: stream }))),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(iam.report()).toMatchObject({ checked: 3, denied: 1 });
  });

  it("counts the sandbox's own calls (no function running) without checking them", async () => {
    const { iam, store } = guardedStore(
      withoutGrant(`multiactive-${region.env}-${REGION}-api`, 'dynamodb:Query', eventsArn()),
    );
    await store.loadStream('account', 'nobody');
    expect(iam.report()).toMatchObject({ checked: 0, denied: 0, unattributed: 1 });
    expect(iam.usageRows()[0]).toMatchObject({ caller: 'sandbox', operation: 'dynamodb:Query' });
  });

  it("reads the internal key as the publisher's role, and refuses it once GetSecretValue is removed", async () => {
    const roleName = `multiactive-${region.env}-${REGION}-publisher`;
    const replica = `arn:aws:secretsmanager:${REGION}:111111111111:secret:multiactive-${region.env}-internal-key-??????`;
    const key = staticInternalKey(new Uint8Array(32).fill(7));
    const granted = IamEnforcement.fromTemplates(deployed);
    const read = functionIam(granted, REGION, region.env);
    expect(await read.as('publisher', () => read.internalKey(key)())).toHaveLength(32);
    expect(granted.report()).toMatchObject({ checked: 1, denied: 0 });
    // The watchdog holds no key: it signs nothing.
    await expect(read.as('watchdog', () => read.internalKey(key)())).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });

    const removed = IamEnforcement.fromTemplates(
      withoutGrant(roleName, 'secretsmanager:GetSecretValue', replica),
    );
    const refused = functionIam(removed, REGION, region.env);
    await expect(refused.as('publisher', () => refused.internalKey(key)())).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:${REGION}:111111111111:secret:multiactive-${region.env}-internal-key-Sandbx`,
      ),
    });
    expect(removed.report().denials[0]).toMatchObject({
      caller: `${REGION}/publisher`,
      operation: 'secretsmanager:GetSecretValue',
    });
  });

  it("lets the watchdog start its region's Failover, and refuses it once StartExecution is removed", async () => {
    const roleName = `multiactive-${region.env}-${REGION}-watchdog`;
    const failover = `arn:aws:states:${REGION}:111111111111:stateMachine:multiactive-${region.env}-Failover`;
    const granted = IamEnforcement.fromTemplates(deployed);
    const watchdog = granted.functionCaller(REGION, region.env, 'watchdog');
    await granted.require(watchdog, startExecutionCall(failover), 0);
    const removed = IamEnforcement.fromTemplates(withoutGrant(roleName, 'states:StartExecution', failover));
    await expect(
      removed.require(
        removed.functionCaller(REGION, region.env, 'watchdog'),
        startExecutionCall(failover),
        0,
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(removed.report()).toMatchObject({ checked: 1, denied: 1 });
  });

  it('lets the readiness function make every call of its evaluation, and refuses one once its grant is removed', async () => {
    const topology = parseTopology({ ...bank.topology('dev'), name: region.env });
    const templates = Object.fromEntries(deployed.map((d) => [d.env.stackName!, d.template]));
    const env = (r: string) => ({ region: r, account: topology.account });
    const { calls } = readinessCalls({ topology, region: REGION, templates, env });
    const granted = IamEnforcement.fromTemplates(deployed);
    const readiness = granted.functionCaller(REGION, region.env, 'readiness');
    for (const call of calls) await granted.require(readiness, call, 0);
    expect(granted.report()).toMatchObject({ checked: calls.length, denied: 0 });
    expect(new Set(calls.map((c) => c.operation))).toEqual(new Set(READINESS_OPERATIONS));
    // Another environment's stacks are not this function's to read.
    const foreign = calls.find((c) => c.operation === 'cloudformation:DescribeStacks')!;
    const other = foreign.requests[0]!.resource.replace(`multiactive-${region.env}-`, 'multiactive-other-');
    await expect(
      granted.require(readiness, { ...foreign, requests: [{ ...foreign.requests[0]!, resource: other }] }, 0),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });

    const stack = `arn:aws:cloudformation:eu-west-1:111111111111:stack/multiactive-${region.env}-eu-west-1/*`;
    const removed = IamEnforcement.fromTemplates(
      withoutGrant(`multiactive-${region.env}-${REGION}-readiness`, 'cloudformation:DescribeStacks', stack),
    );
    const caller = removed.functionCaller(REGION, region.env, 'readiness');
    const refused: string[] = [];
    for (const call of calls) {
      await removed
        .require(caller, call, 0)
        .catch((error: Error) => refused.push(`${error.name} ${call.requests[0]!.resource}`));
    }
    // The statement that named that stack named every cell's: each DescribeStacks is refused, nothing else.
    expect(refused).toEqual(
      ['us-east-1', 'eu-west-1', 'ap-southeast-1'].map(
        (r) =>
          `AccessDeniedException arn:aws:cloudformation:${r}:111111111111:stack/multiactive-${region.env}-${r}/sandbox`,
      ),
    );
  });

  it('lets the API and the saga function write and prune snapshots in their region, and no other function', async () => {
    const { iam, clients } = guardedStore(deployed);
    const snapshots = new SnapshotStore({ client: clients.doc, tableName: region.tables.snapshots });
    const log = accountLog([{ type: 'Deposited', amount: 1 }], { aggregateId: 'iam-snap' });
    const row = foldFullLog(account, 'iam-snap', log);
    for (const name of ['api', 'saga'] as const) {
      const caller = iam.functionCaller(REGION, region.env, name);
      await runAs(caller, () => snapshots.put(snapshotOf(account, row, log[1]!)));
      await runAs(caller, () => snapshots.prune('account', 'iam-snap', 3));
    }
    await expect(
      runAs(iam.functionCaller(REGION, region.env, 'applier'), () =>
        snapshots.put(snapshotOf(account, row, log[1]!)),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  /**
   * core.ack local: the applier takes a Failover-cut event as the home only on a majority read of every
   * region's control table (PartitionOwnership.homeLeaseForApply). One DynamoDB Local holds the table; each
   * replica's client is instrumented as its region's, so every call is checked against that region's ARN.
   */
  it("lets the applier's role read a home's lease from every region's control table, and finds no majority once the peers' reads are removed", async () => {
    const peers = ['eu-west-1', 'ap-southeast-1'];
    const controlTable = region.tables.control;
    const unguardedReplica = new DynamoControlReplica({
      region: REGION,
      client: region.doc,
      tableName: controlTable,
    });
    const { leaseMs, skewMarginMs } = FENCING_DEFAULTS;
    await new PartitionMap({
      register: new QuorumRegister({ replicas: [unguardedReplica] }),
      leaseMs,
      skewMarginMs,
    }).claim(7, REGION);
    const leaseAsApplier = (templates: DeployedTemplate[]) => {
      const iam = IamEnforcement.fromTemplates(templates);
      const replicas = [REGION, ...peers].map((name) => {
        const clients = localClients(inject('dynamoEndpoint'), REGION);
        iam.instrument(clients.dynamodb, 'dynamodb', { region: name });
        return new DynamoControlReplica({ region: name, client: clients.doc, tableName: controlTable });
      });
      const ownership = applierOwnership({
        region: REGION,
        replicas,
        controlTable,
        fencing: FENCING_DEFAULTS,
        callTimeoutMs: 2_000,
      });
      const applier = iam.functionCaller(REGION, region.env, 'applier');
      return { iam, lease: runAs(applier, () => ownership.homeLeaseForApply(7)) };
    };
    const granted = leaseAsApplier(deployed);
    expect(await granted.lease).toMatchObject({ guards: [expect.anything()] });
    expect(granted.iam.report()).toMatchObject({ denied: 0 });
    expect(granted.iam.report().checked).toBeGreaterThanOrEqual(3);
    const roleName = `multiactive-${region.env}-${REGION}-applier`;
    const peerControl = peers.map((peer) => `arn:aws:dynamodb:${peer}:111111111111:table/${controlTable}`);
    const removed = leaseAsApplier(withoutGrant(roleName, 'dynamodb:GetItem', peerControl));
    await expect(removed.lease).rejects.toMatchObject({ name: 'QuorumUnavailableError' });
    expect(removed.iam.report()).toMatchObject({ denied: 2 });
  });

  /**
   * AWS refuses a TransactWriteItems naming one item twice, whatever the actions (ValidationException
   * "Transaction request cannot include multiple operations on one item"). DynamoDB Local refuses two Puts
   * so, but evaluates a Put and a ConditionCheck on one item one after the other (the check then fails as
   * a condition). The sandbox's clients refuse both as AWS does.
   */
  it('refuses a transaction with two operations on one item, as DynamoDB in AWS does', async () => {
    const { clients } = guardedStore(deployed);
    const table = region.tables.events;
    const putAndCheck = (pk: string) =>
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk, sk: 'HLC#1' } } },
          {
            ConditionCheck: {
              TableName: table,
              Key: { pk, sk: 'HLC#1' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      });
    const twoPuts = (pk: string) =>
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk, sk: 'HLC#1', n: 1 } } },
          { Put: { TableName: table, Item: { pk, sk: 'HLC#1', n: 2 } } },
        ],
      });
    // DynamoDB Local alone: a condition failure, not the refusal of the request (the gap the sandbox closes).
    await expect(region.doc.send(putAndCheck(`local-${Date.now()}`))).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    for (const command of [putAndCheck(`sandbox-${Date.now()}`), twoPuts(`sandbox2-${Date.now()}`)])
      await expect(clients.doc.send(command)).rejects.toMatchObject({
        name: 'ValidationException',
        message: 'Transaction request cannot include multiple operations on one item',
      });
    // Two items of one partition are two items.
    await clients.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk: 'two-items', sk: 'HLC#1' } } },
          { Put: { TableName: table, Item: { pk: 'two-items', sk: 'HLC#2' } } },
        ],
      }),
    );
  });
});
