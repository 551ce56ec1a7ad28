import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unbundledContext } from '../../cdk/app-context.ts';
import { MultiActiveApp } from '../../cdk/index.ts';
import { account } from '../../examples/bank/index.ts';
import { defineApp } from '../../lib/app/index.ts';
import { twoRegionTopology } from './support/app.ts';
import { ACCEPTED_WARNINGS, cfnLint, type Finding } from './support/cfn-lint.ts';

/** A team's application: one core aggregate in a two-region environment (written inline, not loaded). */
const ledger = defineApp({
  name: 'ledger',
  aggregates: [account],
  environments: { pair: twoRegionTopology() },
});

/**
 * A team's own CDK app: the MultiActiveApp beside a stack of its own, whose resource (a parameter naming
 * the cell's events table, for the team's reporting job) uses a resource of the construct.
 */
function teamApp(): { app: App; multiActive: MultiActiveApp; team: Stack } {
  const app = new App({ context: unbundledContext() });
  const multiActive = new MultiActiveApp(app, 'Ledger', { application: ledger, environment: 'pair' });
  const team = new Stack(app, 'LedgerReporting', {
    env: { account: multiActive.topology.account, region: 'eu-central-1' },
  });
  new ssm.StringParameter(team, 'EventsTable', {
    parameterName: '/ledger/reporting/events-table',
    stringValue: multiActive.regional['eu-central-1']!.tables.byKind.events.tableName,
  });
  return { app, multiActive, team };
}

describe('MultiActiveApp in a team-owned CDK app', () => {
  let built: ReturnType<typeof teamApp>;
  let stacks: Stack[];
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-team-app-'));
  beforeAll(() => {
    built = teamApp();
    const { multiActive, team } = built;
    stacks = [
      ...Object.values(multiActive.foundation),
      ...Object.values(multiActive.regional),
      multiActive.global,
      team,
    ];
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("synthesizes the environment's stacks, with the team's stack beside them", () => {
    const names = stacks.map((s) => s.stackName);
    expect(names).toEqual([
      'multiactive-pair-eu-central-1-foundation',
      'multiactive-pair-eu-west-2-foundation',
      'multiactive-pair-eu-central-1',
      'multiactive-pair-eu-west-2',
      'multiactive-pair-global',
      'LedgerReporting',
    ]);
    // In the App, not under the construct: the logical ids and template files cdk/bin/app.ts deploys.
    expect(built.multiActive.regional['eu-central-1']!.node.path).toBe('multiactive-pair-eu-central-1');
    const cell = Template.fromStack(built.multiActive.regional['eu-central-1']!);
    cell.resourceCountIs('AWS::Lambda::Function', 9);
    const team = Template.fromStack(built.team);
    team.resourceCountIs('AWS::SSM::Parameter', 1);
    // The team's parameter reads the cell's table from the cell's stack (a CloudFormation export).
    expect(JSON.stringify(team.findResources('AWS::SSM::Parameter'))).toContain('Fn::ImportValue');
  }, 300_000);

  it('is cdk-nag clean (AwsSolutions, Serverless), the team stack included', () => {
    const found: string[] = [];
    for (const stack of stacks) {
      for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
        for (const violation of pack.validateScope(stack).violations) {
          const paths = violation.violatingResources.map((resource) => resource.constructPath);
          found.push(`${violation.severity} ${violation.ruleName}: ${paths.join(', ')}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('passes cfn-lint: no error, only the warnings the shipped stacks accept', async () => {
    const assembly = built.app.synth();
    const files = stacks.map((stack) => {
      const file = join(dir, `${stack.stackName}.template.json`);
      writeFileSync(file, JSON.stringify(assembly.getStackByName(stack.stackName).template, null, 1));
      return file;
    });
    const findings = await cfnLint(files);
    const describe = (f: Finding) => `${f.Rule.Id} ${f.Filename.slice(dir.length + 1)}: ${f.Message}`;
    expect(
      findings.filter((f) => f.Level === 'Error' || !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describe),
    ).toEqual([]);
  }, 300_000);

  it('refuses to bundle the handlers of an application that was not loaded from its module', () => {
    const app = new App();
    expect(() => new MultiActiveApp(app, 'Ledger', { application: ledger, environment: 'pair' })).toThrow(
      'bundling a handler needs the application config module',
    );
  });
});
