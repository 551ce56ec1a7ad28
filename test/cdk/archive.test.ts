import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../cdk/constructs/function-defaults.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { archiveBucketName } from '../../lib/lifecycle/index.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';
import { ACCEPTED_WARNINGS, cfnLint } from './support/cfn-lint.ts';

const retained = (overrides: Record<string, unknown> = {}): Topology =>
  twoRegionTopology({
    aggregates: [{ type: 'account', tier: 'core', lifecycle: { snapshotEvery: 10, retentionDays: 30 } }],
    ...overrides,
  });

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Every statement of the policies attached to the role named `roleName` (resolved to plain strings). */
function statementsOf(template: Template, roleName: string): Statement[] {
  const roles = template.findResources('AWS::IAM::Role');
  const roleId = Object.keys(roles).find((id) => roles[id]!.Properties.RoleName === roleName);
  if (!roleId) throw new Error(`no role ${roleName}`);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
const granting = (statements: Statement[], action: string) =>
  statements.filter((s) => actions(s).includes(action)).flatMap(resources);

describe('the retention archive of a cell (bucket, archiver, schedule, grants)', () => {
  let withRetention: Record<string, Template>;
  let quorum: Record<string, Template>;
  let without: Record<string, Template>;
  beforeAll(() => {
    withRetention = templatesOf(testEnvironment(retained()));
    quorum = templatesOf(testEnvironment(retained({ core: { ack: 'quorum' } })));
    without = templatesOf(testEnvironment(twoRegionTopology()));
  }, 240_000);

  it('makes no bucket and no archiver when no aggregate type has a retention', () => {
    for (const region of ['eu-central-1', 'eu-west-2']) {
      without[region]!.resourceCountIs('AWS::S3::Bucket', 0);
      without[region]!.resourceCountIs('AWS::Lambda::Function', FUNCTION_NAMES.length);
    }
  });

  it('makes one bucket per region: SSE, public access blocked, versioned, colder after 30 days, retained, TLS only', () => {
    for (const region of ['eu-central-1', 'eu-west-2']) {
      const template = withRetention[region]!;
      const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
      expect(buckets).toHaveLength(1);
      const [bucket] = buckets;
      expect(bucket!.DeletionPolicy).toBe('Retain');
      expect(bucket!.UpdateReplacePolicy).toBe('Retain');
      expect(bucket!.Properties).toMatchObject({
        BucketName: archiveBucketName(retained(), region),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            expect.objectContaining({
              Status: 'Enabled',
              Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
            }),
          ],
        },
      });
      const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
      const statements = policy!.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('runs the archiver daily (rate(1 day)) from an EventBridge rule, in every region', () => {
    for (const region of ['eu-central-1', 'eu-west-2']) {
      const template = withRetention[region]!;
      const functions = template.findResources('AWS::Lambda::Function');
      const archiverId = Object.keys(functions).find(
        (id) => functions[id]!.Properties.FunctionName === 'multiactive-pair-archiver',
      );
      expect(archiverId).toBeDefined();
      expect(functions[archiverId!]!.Properties.Environment.Variables).toMatchObject({
        ARCHIVE_BUCKET: archiveBucketName(retained(), region),
        MULTIACTIVE_REGION: region,
        TABLE_SNAPSHOTS: expect.anything(),
      });
      const rules = Object.values(template.findResources('AWS::Events::Rule')).filter(
        (r) => r.Properties.Name === 'multiactive-pair-archiver',
      );
      expect(rules).toHaveLength(1);
      expect(rules[0]!.Properties.ScheduleExpression).toBe('rate(1 day)');
      expect(rules[0]!.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [archiverId, 'Arn'] });
    }
  });

  it("grants the archiver its own log, snapshots and bucket, and only reads of the peers' watermarks and logs", () => {
    const statements = statementsOf(withRetention['eu-central-1']!, 'multiactive-pair-eu-central-1-archiver');
    const table = (region: string, name: string) =>
      `arn:aws:dynamodb:${region}:333333333333:table/multiactive-pair-${name}`;
    expect(granting(statements, 'dynamodb:UpdateItem')).toEqual([table('eu-central-1', 'events')]);
    expect(granting(statements, 'dynamodb:Scan')).toEqual([table('eu-central-1', 'state')]);
    // Its own copy of the partition map (only the home archives), never a peer's.
    expect(granting(statements, 'dynamodb:GetItem')).toContain(table('eu-central-1', 'control'));
    expect(granting(statements, 'dynamodb:GetItem')).not.toContain(table('eu-west-2', 'control'));
    expect(granting(statements, 'dynamodb:Query').sort()).toEqual(
      [
        table('eu-central-1', 'control'),
        table('eu-central-1', 'events'),
        table('eu-central-1', 'snapshots'),
        table('eu-west-2', 'events'),
        table('eu-west-2', 'replication'),
      ].sort(),
    );
    for (const write of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'])
      expect(granting(statements, write)).toEqual([]);
    const own = `arn:aws:s3:::${archiveBucketName(retained(), 'eu-central-1')}/*`;
    expect(granting(statements, 's3:PutObject')).toEqual([own]);
    expect(granting(statements, 's3:GetObject')).toEqual([own]);
    // Its own bucket only: its pass cursor's first read meets a missing key, which S3 answers with 404
    // only to a role that may list the bucket (403 otherwise).
    expect(granting(statements, 's3:ListBucket')).toEqual([own.slice(0, -2)]);
    expect(
      statements
        .flatMap(actions)
        .filter((a) => a.startsWith('s3:'))
        .sort(),
    ).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
  });

  it("lets the runbook read every region's archive, the API its own (every region's under core.ack quorum)", () => {
    const bucket = (region: string) => `arn:aws:s3:::${archiveBucketName(retained(), region)}`;
    const runbook = statementsOf(withRetention['eu-central-1']!, 'multiactive-pair-eu-central-1-runbook');
    expect(granting(runbook, 's3:GetObject').sort()).toEqual([
      `${bucket('eu-central-1')}/*`,
      `${bucket('eu-west-2')}/*`,
    ]);
    expect(granting(runbook, 's3:ListBucket').sort()).toEqual([bucket('eu-central-1'), bucket('eu-west-2')]);
    expect(granting(runbook, 's3:PutObject')).toEqual([]);
    const api = statementsOf(withRetention['eu-central-1']!, 'multiactive-pair-eu-central-1-api');
    expect(granting(api, 's3:GetObject')).toEqual([`${bucket('eu-central-1')}/*`]);
    const quorumApi = statementsOf(quorum['eu-central-1']!, 'multiactive-pair-eu-central-1-api');
    expect(granting(quorumApi, 's3:GetObject').sort()).toEqual([
      `${bucket('eu-central-1')}/*`,
      `${bucket('eu-west-2')}/*`,
    ]);
    expect(granting(quorumApi, 'dynamodb:Query')).toContain(
      'arn:aws:dynamodb:eu-west-2:333333333333:table/multiactive-pair-snapshots',
    );
  });

  it('is cdk-nag clean (AwsSolutions and Serverless packs), local and quorum acks', () => {
    for (const topology of [retained(), retained({ core: { ack: 'quorum' } })]) {
      const stacks = testEnvironment(topology);
      const found = Object.values(stacks.regional).flatMap((stack) =>
        [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
          pack
            .validateScope(stack)
            .violations.map(
              (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
            ),
        ),
      );
      expect(found).toEqual([]);
    }
  }, 120_000);

  describe('cfn-lint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiactive-archive-lint-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reports no error and only accepted warnings on a cell with the archive (bank's prod with a retention)", async () => {
      const prod = bank.topology('prod');
      const topology = {
        ...prod,
        aggregates: prod.aggregates.map((a) =>
          a.type === 'account' ? { ...a, lifecycle: { snapshotEvery: 100, retentionDays: 30 } } : a,
        ),
      } as Topology;
      // One synthesis: the first region's cell.
      const templates = templatesOf(testEnvironment(topology));
      const template = templates[regionNames(topology)[0]!]!;
      const file = join(dir, 'cell.template.json');
      writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
      const findings = await cfnLint([file]);
      const describe = (f: (typeof findings)[number]) =>
        `${f.Rule.Id} ${f.Location.Path.join('/')}: ${f.Message}`;
      expect(findings.filter((f) => f.Level === 'Error').map(describe)).toEqual([]);
      expect(findings.filter((f) => !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describe)).toEqual([]);
    }, 300_000);
  });
});
