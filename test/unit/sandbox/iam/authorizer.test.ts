import { beforeAll, describe, expect, it } from 'vitest';
import { type Caller, IamAuthorizer, type IamModel, iamModelOf } from '../../../../lib/sandbox/iam/index.ts';
import { shippedTemplates } from '../../../support/templates.ts';

const DEV = '111111111111';
const PROD = '222222222222';
const tableArn = (account: string, region: string, table: string) =>
  `arn:aws:dynamodb:${region}:${account}:table/${table}`;
const busArn = (account: string, region: string, env: string) =>
  `arn:aws:events:${region}:${account}:event-bus/multiactive-${env}-bus`;
const role = (account: string, env: string, region: string, name: string): Caller => ({
  kind: 'role',
  roleArn: `arn:aws:iam::${account}:role/multiactive-${env}-${region}-${name}`,
  session: name,
  label: `${region}/${name}`,
});

/** EventBridge acting for a rule on dev's eu-west-1 bus (a Lambda target, a dead-letter queue). */
const ruleOnBus = (rule: string): Caller => ({
  kind: 'service',
  service: 'events.amazonaws.com',
  sourceArn: `arn:aws:events:eu-west-1:${DEV}:rule/multiactive-dev-bus/${rule}`,
  label: rule,
});

let dev: IamModel;
let prod: IamModel;
beforeAll(async () => {
  dev = iamModelOf((await shippedTemplates('dev')).deployed);
  prod = iamModelOf((await shippedTemplates('prod')).deployed);
}, 180_000);

async function allowed(model: IamModel, caller: Caller, action: string, resource: string): Promise<boolean> {
  return (await new IamAuthorizer(model).decide(caller, { action, resource })).allowed;
}

describe('IAM over the synthesized templates (iam-simulate)', () => {
  it("lets the runbook guard its direct delivery of a core event on every region's state row (a ConditionCheck in the append's transaction)", async () => {
    // Repair delivers a lacking core event straight into a region's log with the row as read: a ConditionCheck
    // on the state table when the event does not extend the row. A chaos run on prod was denied it.
    for (const [model, account, env] of [
      [dev, DEV, 'dev'],
      [prod, PROD, 'prod'],
    ] as const) {
      const runbook = role(account, env, 'us-east-1', 'runbook');
      const state = tableArn(account, 'eu-west-1', `multiactive-${env}-state`);
      expect(await allowed(model, runbook, 'dynamodb:ConditionCheckItem', state)).toBe(true);
    }
  });

  it("lets prod's API and saga function (core.ack quorum) withdraw the conflict records a refused peer retire created, in every region; not dev's", async () => {
    for (const region of ['eu-west-1', 'us-east-1']) {
      const replication = tableArn(PROD, region, 'multiactive-prod-replication');
      for (const fn of ['api', 'saga']) {
        const caller = role(PROD, 'prod', 'eu-west-1', fn);
        expect(await allowed(prod, caller, 'dynamodb:DeleteItem', replication)).toBe(true);
      }
    }
    const devReplication = tableArn(DEV, 'us-east-1', 'multiactive-dev-replication');
    expect(
      await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'api'), 'dynamodb:DeleteItem', devReplication),
    ).toBe(false);
  });

  it("lets prod's API and saga function (core.ack quorum) list an aggregate's conflict records in every region before a peer retire; not dev's saga", async () => {
    // retireCoreBranch lists the core-branch records every queue holds (Query) before it requeues or creates
    // them. A prod chaos run (seed 4) was denied it, as eu-west-1/saga, on eu-west-1's and us-east-1's tables.
    for (const region of ['eu-west-1', 'us-east-1']) {
      const replication = tableArn(PROD, region, 'multiactive-prod-replication');
      for (const fn of ['api', 'saga']) {
        const caller = role(PROD, 'prod', 'eu-west-1', fn);
        expect(await allowed(prod, caller, 'dynamodb:Query', replication), `${fn} ${region}`).toBe(true);
      }
    }
    const devReplication = tableArn(DEV, 'us-east-1', 'multiactive-dev-replication');
    expect(await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'saga'), 'dynamodb:Query', devReplication)).toBe(
      false,
    );
  });

  it("lets the runbook scan every region's replication table for the records carrying a held event (hold release), and the API not", async () => {
    const replication = tableArn(DEV, 'ap-southeast-1', 'multiactive-dev-replication');
    expect(await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'runbook'), 'dynamodb:Scan', replication)).toBe(
      true,
    );
    expect(await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'api'), 'dynamodb:Scan', replication)).toBe(
      false,
    );
  });

  it('lets the API append to and read its events table, never delete from or scan it', async () => {
    const api = role(DEV, 'dev', 'eu-west-1', 'api');
    const events = tableArn(DEV, 'eu-west-1', 'multiactive-dev-events');
    expect(await allowed(dev, api, 'dynamodb:PutItem', events)).toBe(true);
    expect(await allowed(dev, api, 'dynamodb:Query', events)).toBe(true);
    expect(await allowed(dev, api, 'dynamodb:DeleteItem', events)).toBe(false);
    expect(await allowed(dev, api, 'dynamodb:Scan', events)).toBe(false);
    expect(await allowed(dev, api, 'dynamodb:UpdateItem', events)).toBe(false);
  });

  it("lets the API of prod (core.ack quorum) copy core events into a peer's events table, not dev's", async () => {
    const peerEvents = (account: string, env: string) =>
      tableArn(account, 'us-east-1', `multiactive-${env}-events`);
    expect(
      await allowed(
        prod,
        role(PROD, 'prod', 'eu-west-1', 'api'),
        'dynamodb:PutItem',
        peerEvents(PROD, 'prod'),
      ),
    ).toBe(true);
    expect(
      await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'api'), 'dynamodb:PutItem', peerEvents(DEV, 'dev')),
    ).toBe(false);
  });

  it("lets the applier fetch a core gap from the origin's log and announce conflicts on its own bus", async () => {
    const applier = role(DEV, 'dev', 'eu-west-1', 'applier');
    expect(
      await allowed(dev, applier, 'dynamodb:Query', tableArn(DEV, 'us-east-1', 'multiactive-dev-events')),
    ).toBe(true);
    expect(await allowed(dev, applier, 'events:PutEvents', busArn(DEV, 'eu-west-1', 'dev'))).toBe(true);
    expect(await allowed(dev, applier, 'events:PutEvents', busArn(DEV, 'us-east-1', 'dev'))).toBe(false);
    expect(
      await allowed(dev, applier, 'dynamodb:PutItem', tableArn(DEV, 'us-east-1', 'multiactive-dev-events')),
    ).toBe(false);
  });

  it("lets the runbook replay onto every region's bus and open conflict records in every region", async () => {
    const runbook = role(DEV, 'dev', 'us-east-1', 'runbook');
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      expect(await allowed(dev, runbook, 'events:PutEvents', busArn(DEV, region, 'dev'))).toBe(true);
      expect(
        await allowed(dev, runbook, 'dynamodb:PutItem', tableArn(DEV, region, 'multiactive-dev-replication')),
      ).toBe(true);
    }
  });

  it("denies PutEvents on a bus to a role its policy does not name, whatever the role's own policies allow", async () => {
    const api = role(DEV, 'dev', 'eu-west-1', 'api');
    const apiArn = `arn:aws:iam::${DEV}:role/multiactive-dev-eu-west-1-api`;
    const apiRole = dev.roles.get(apiArn)!;
    const broad = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }],
    };
    const roles = new Map(dev.roles);
    roles.set(apiArn, {
      ...apiRole,
      policies: [...apiRole.policies, { name: 'too-broad', document: broad }],
    });
    const granted: IamModel = { ...dev, roles };
    expect(
      await allowed(granted, api, 'events:PutEvents', `arn:aws:events:eu-west-1:${DEV}:event-bus/other`),
    ).toBe(true);
    const decision = await new IamAuthorizer(granted).decide(api, {
      action: 'events:PutEvents',
      resource: busArn(DEV, 'eu-west-1', 'dev'),
    });
    expect(decision.allowed).toBe(false);
    expect(decision.message).toContain('with an explicit deny in a resource-based policy');
    expect(decision.message).toContain('assumed-role/multiactive-dev-eu-west-1-api/api');
  });

  it("lets a peer's forwarding role put on this bus, and nothing on failure detection put on any bus", async () => {
    const forward: Caller = {
      kind: 'role',
      roleArn: `arn:aws:iam::${DEV}:role/multiactive-dev-us-east-1-to-eu-west-1`,
      session: 'events',
      label: 'rule',
    };
    expect(await allowed(dev, forward, 'events:PutEvents', busArn(DEV, 'eu-west-1', 'dev'))).toBe(true);
    expect(await allowed(dev, forward, 'events:PutEvents', busArn(DEV, 'ap-southeast-1', 'dev'))).toBe(false);
    for (const fn of ['watchdog', 'health'])
      expect(
        await allowed(
          dev,
          role(DEV, 'dev', 'us-east-1', fn),
          'events:PutEvents',
          busArn(DEV, 'eu-west-1', 'dev'),
        ),
      ).toBe(false);
  });

  it("lets the watchdog start its own region's Failover and no other runbook or region's", async () => {
    const watchdog = role(DEV, 'dev', 'eu-west-1', 'watchdog');
    const machine = (region: string, name: string) =>
      `arn:aws:states:${region}:${DEV}:stateMachine:multiactive-dev-${name}`;
    expect(await allowed(dev, watchdog, 'states:StartExecution', machine('eu-west-1', 'Failover'))).toBe(
      true,
    );
    expect(await allowed(dev, watchdog, 'states:StartExecution', machine('us-east-1', 'Failover'))).toBe(
      false,
    );
    expect(await allowed(dev, watchdog, 'states:StartExecution', machine('eu-west-1', 'Switchover'))).toBe(
      false,
    );
    expect(
      await allowed(
        dev,
        role(DEV, 'dev', 'eu-west-1', 'api'),
        'states:StartExecution',
        machine('eu-west-1', 'Failover'),
      ),
    ).toBe(false);
  });

  it('lets the health function write only its store probe, the watchdog only control tables', async () => {
    const control = (region: string) => tableArn(DEV, region, 'multiactive-dev-control');
    const health = role(DEV, 'dev', 'eu-west-1', 'health');
    expect(await allowed(dev, health, 'dynamodb:UpdateItem', control('eu-west-1'))).toBe(true);
    expect(await allowed(dev, health, 'dynamodb:UpdateItem', control('us-east-1'))).toBe(false);
    expect(await allowed(dev, health, 'dynamodb:GetItem', control('us-east-1'))).toBe(true);
    expect(
      await allowed(dev, health, 'dynamodb:PutItem', tableArn(DEV, 'eu-west-1', 'multiactive-dev-events')),
    ).toBe(false);
    const watchdog = role(DEV, 'dev', 'eu-west-1', 'watchdog');
    expect(await allowed(dev, watchdog, 'dynamodb:PutItem', control('us-east-1'))).toBe(true);
    expect(
      await allowed(
        dev,
        watchdog,
        'dynamodb:PutItem',
        tableArn(DEV, 'eu-west-1', 'multiactive-dev-replication'),
      ),
    ).toBe(false);
  });

  it("lets the signers and checkers read their own region's replica of the internal key, nobody else", async () => {
    const secret = (region: string) =>
      `arn:aws:secretsmanager:${region}:${DEV}:secret:multiactive-dev-internal-key-Ab12Cd`;
    for (const fn of ['api', 'publisher', 'applier', 'runbook']) {
      const caller = role(DEV, 'dev', 'eu-west-1', fn);
      expect(await allowed(dev, caller, 'secretsmanager:GetSecretValue', secret('eu-west-1')), fn).toBe(true);
      expect(await allowed(dev, caller, 'secretsmanager:GetSecretValue', secret('us-east-1')), fn).toBe(
        false,
      );
    }
    for (const fn of ['health', 'watchdog', 'lag-monitor'])
      expect(
        await allowed(
          dev,
          role(DEV, 'dev', 'eu-west-1', fn),
          'secretsmanager:GetSecretValue',
          secret('eu-west-1'),
        ),
        fn,
      ).toBe(false);
    // The grant names the secret's six-character suffix, not any name that starts the same.
    const other = `arn:aws:secretsmanager:eu-west-1:${DEV}:secret:multiactive-dev-internal-key-rotated-Ab12Cd`;
    expect(
      await allowed(dev, role(DEV, 'dev', 'eu-west-1', 'api'), 'secretsmanager:GetSecretValue', other),
    ).toBe(false);
  });

  it("lets API Gateway invoke each route's function for that route only, and the schedule the watchdog", async () => {
    const fn = (name: string) => `arn:aws:lambda:eu-west-1:${DEV}:function:multiactive-dev-${name}`;
    const route = (method: string, path: string): Caller => ({
      kind: 'service',
      service: 'apigateway.amazonaws.com',
      sourceArn: `arn:aws:execute-api:eu-west-1:${DEV}:multiactive-dev-api/$default/${method}${path}`,
      label: path,
    });
    expect(await allowed(dev, route('GET', '/health'), 'lambda:InvokeFunction', fn('health'))).toBe(true);
    expect(await allowed(dev, route('POST', '/v1/{proxy+}'), 'lambda:InvokeFunction', fn('api'))).toBe(true);
    expect(await allowed(dev, route('POST', '/internal/{proxy+}'), 'lambda:InvokeFunction', fn('api'))).toBe(
      true,
    );
    expect(await allowed(dev, route('POST', '/v1/{proxy+}'), 'lambda:InvokeFunction', fn('health'))).toBe(
      false,
    );
    expect(await allowed(dev, route('GET', '/health'), 'lambda:InvokeFunction', fn('api'))).toBe(false);
    const schedule = (rule: string): Caller => ({
      kind: 'service',
      service: 'events.amazonaws.com',
      sourceArn: `arn:aws:events:eu-west-1:${DEV}:rule/${rule}`,
      label: rule,
    });
    expect(
      await allowed(dev, schedule('multiactive-dev-watchdog'), 'lambda:InvokeFunction', fn('watchdog')),
    ).toBe(true);
    expect(await allowed(dev, schedule('someone-elses-rule'), 'lambda:InvokeFunction', fn('watchdog'))).toBe(
      false,
    );
  });

  it('lets EventBridge invoke the applier for the apply rule only (the function resource policy)', async () => {
    const applier = `arn:aws:lambda:eu-west-1:${DEV}:function:multiactive-dev-applier`;
    expect(await allowed(dev, ruleOnBus('multiactive-dev-apply'), 'lambda:InvokeFunction', applier)).toBe(
      true,
    );
    expect(await allowed(dev, ruleOnBus('someone-elses-rule'), 'lambda:InvokeFunction', applier)).toBe(false);
  });

  it("lets EventBridge hand the apply rule's given-up events to its dead-letter queue, and no other rule's", async () => {
    const queue = `arn:aws:sqs:eu-west-1:${DEV}:multiactive-dev-apply-dead-letters`;
    expect(await allowed(dev, ruleOnBus('multiactive-dev-apply'), 'sqs:SendMessage', queue)).toBe(true);
    expect(await allowed(dev, ruleOnBus('multiactive-dev-to-us-east-1'), 'sqs:SendMessage', queue)).toBe(
      false,
    );
  });

  it("lets each state machine's role invoke the region's runbook function and nothing else", async () => {
    const machine = `arn:aws:states:eu-west-1:${DEV}:stateMachine:multiactive-dev-Failover`;
    const sm: Caller = {
      kind: 'role',
      roleArn: dev.stateMachineRoles.get(machine)!,
      session: 'x',
      label: 'sm',
    };
    const fn = (region: string, name: string) =>
      `arn:aws:lambda:${region}:${DEV}:function:multiactive-dev-${name}`;
    expect(await allowed(dev, sm, 'lambda:InvokeFunction', fn('eu-west-1', 'runbook'))).toBe(true);
    expect(await allowed(dev, sm, 'lambda:InvokeFunction', fn('eu-west-1', 'api'))).toBe(false);
    expect(await allowed(dev, sm, 'lambda:InvokeFunction', fn('us-east-1', 'runbook'))).toBe(false);
  });
});
