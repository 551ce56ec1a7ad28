import { isWildcardOnlyAction } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_ACCESS } from '../../cdk/constructs/access-table.ts';
import type { CfnTemplate } from '../../lib/sandbox/cdk/templates.ts';
import { shippedTemplates } from '../support/templates.ts';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Every identity-policy statement of every stack: [stack, policy logical id, statement]. */
function statementsOf(templates: Record<string, CfnTemplate>): Array<[string, string, Statement]> {
  return Object.entries(templates).flatMap(([stack, template]) =>
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .flatMap(([id, r]) =>
        ((r.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? []).map(
          (s) => [stack, id, s] as [string, string, Statement],
        ),
      ),
  );
}

/** Actions whose only resource type is optional and does not apply to what the platform asks. */
const STAR_ONLY_IN_PRACTICE: Readonly<Record<string, string>> = {
  'cloudwatch:GetMetricData':
    'its one resource type is a (Metrics Insights) dataset, optional; a query of metrics is authorized on *',
};

const environments: Record<string, Record<string, CfnTemplate>> = {};
beforeAll(async () => {
  for (const env of ['dev', 'prod', 'world'] as const)
    environments[env] = (await shippedTemplates(env)).templates;
}, 180_000);

describe.each(['dev', 'prod', 'world'])('least-privilege grants in %s', (env) => {
  it('attaches no managed policy to any role (function logs are granted on their own log group)', () => {
    for (const template of Object.values(environments[env]!)) {
      for (const resource of Object.values(template.Resources)) {
        if (resource.Type !== 'AWS::IAM::Role') continue;
        expect(resource.Properties?.ManagedPolicyArns).toBeUndefined();
      }
    }
  });

  it('uses Resource "*" only for actions that have no resource type', async () => {
    const wildcards = statementsOf(environments[env]!).filter(([, , s]) => s.Resource === '*');
    expect(wildcards.length).toBeGreaterThan(0);
    for (const [stack, id, statement] of wildcards) {
      for (const action of [statement.Action].flat()) {
        const [service, name] = action.split(':') as [string, string];
        if (action in STAR_ONLY_IN_PRACTICE) continue;
        expect(await isWildcardOnlyAction(service, name), `${stack}/${id}: ${action} on *`).toBe(true);
      }
    }
  });

  it("grants no role DeleteItem, Scan or UpdateItem on the events table but the runbook (core-orphan rewrite, repair listing) and, under core.ack quorum, the API's and the saga function's DeleteItem on peers' tables only", () => {
    let checked = 0;
    let peerDeletes = 0;
    for (const [stack, id, statement] of statementsOf(environments[env]!)) {
      const resources = [statement.Resource].flat();
      const onEvents = resources.some(
        (r) => typeof r === 'string' && /table\/multiactive-[a-z]+-events$/.test(r),
      );
      if (!onEvents || id.startsWith('Functionsrunbook')) continue;
      checked++;
      const actions = [statement.Action].flat();
      // The quorum copy of the API and of the saga function (a step is a core command) retires a peer's
      // branch of earlier epochs (lib/commands/quorum-peer-retirer.ts): a statement naming only other
      // regions' tables.
      const region = stack.split('-').slice(-3).join('-');
      const peersOnly = resources.every(
        (r) => typeof r === 'string' && !r.startsWith(`arn:aws:dynamodb:${region}:`),
      );
      const onPeers = (id.startsWith('Functionsapi') || id.startsWith('Functionssaga')) && peersOnly;
      if (onPeers && actions.includes('dynamodb:DeleteItem')) peerDeletes++;
      for (const forbidden of [
        'dynamodb:DeleteItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'dynamodb:BatchWriteItem',
      ]) {
        if (forbidden === 'dynamodb:DeleteItem' && onPeers) continue;
        expect(actions, `${stack}/${id}`).not.toContain(forbidden);
      }
    }
    // api, applier and lag-monitor in each of the three (world: five) cells.
    expect(checked).toBeGreaterThanOrEqual(env === 'world' ? 15 : 9);
    // prod (three cells) and world (five) have core.ack quorum: one such grant per cell for each of the two.
    expect(peerDeletes).toBe({ dev: 0, prod: 6, world: 10 }[env]);
  });

  it("writes each function's logs only to its own log group", () => {
    for (const [stack, template] of Object.entries(environments[env]!)) {
      for (const [, , statement] of statementsOf({ [stack]: template })) {
        const actions = [statement.Action].flat();
        if (!actions.includes('logs:PutLogEvents')) continue;
        const target = (statement.Resource as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
        expect(target?.[1], `${stack}: ${JSON.stringify(statement.Resource)}`).toBe('Arn');
        const group = template.Resources[target![0]]!;
        expect(group.Type).toBe('AWS::Logs::LogGroup');
        expect(group.Properties?.LogGroupName).toMatch(
          new RegExp(`^/aws/lambda/multiactive-${env}-[a-z-]+$`),
        );
      }
    }
  });
});

describe('the access table', () => {
  it('says why for every row', () => {
    for (const access of Object.values(FUNCTION_ACCESS)) {
      for (const row of [...access.tables, ...access.buses, ...(access.services ?? [])])
        expect(row.why.length).toBeGreaterThan(15);
    }
  });
});
