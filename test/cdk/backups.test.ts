import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { ConfigError, parseTopology, regionNames } from '../../lib/config/index.ts';
import { TABLE_KINDS } from '../../lib/store/tables.ts';
import { templatesOf, testEnvironment } from './support/app.ts';

const prod = bank.topology('prod');
const regions = regionNames(prod);
let templates: Record<string, Template>;
let stacks: ReturnType<typeof testEnvironment>;

beforeAll(() => {
  stacks = testEnvironment(prod);
  templates = templatesOf(stacks);
});

const vaultArn = (region: string) =>
  `arn:aws:backup:${region}:${prod.account}:backup-vault:multiactive-prod-tables`;

describe.each(regions)('AWS Backup of the tables in %s (prod)', (region) => {
  const template = () => templates[region]!;
  const next = regions[(regions.indexOf(region) + 1) % regions.length]!;

  it('keeps a vault encrypted with its own rotated key, deletion of recovery points denied to all', () => {
    template().hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('AWS Backup vault'),
    });
    template().hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: 'multiactive-prod-tables',
      EncryptionKeyArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      AccessPolicy: {
        Statement: [
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: Match.arrayWith(['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle']),
          }),
        ],
      },
    });
    // Protected tables: the vault and its key outlive the stack, like the tables.
    template().hasResource('AWS::Backup::BackupVault', { DeletionPolicy: 'Retain' });
  });

  it(`backs up daily, keeps 35 days and copies every recovery point to ${next}`, () => {
    template().hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({
            ScheduleExpression: 'cron(0 3 * * ? *)',
            Lifecycle: { DeleteAfterDays: 35 },
            CopyActions: [{ DestinationBackupVaultArn: vaultArn(next), Lifecycle: { DeleteAfterDays: 35 } }],
          }),
        ],
      },
    });
  });

  it('selects the six tables, with a role of inline grants only', () => {
    const selections = template().findResources('AWS::Backup::BackupSelection');
    const [selection] = Object.values(selections);
    expect(selection).toBeDefined();
    const resources = (selection!.Properties as { BackupSelection: { Resources: unknown[] } }).BackupSelection
      .Resources;
    expect(resources).toHaveLength(TABLE_KINDS.length);
    template().hasResourceProperties('AWS::IAM::Role', {
      RoleName: `multiactive-prod-${region}-backup`,
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'backup.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['backup:CopyIntoBackupVault', 'backup:DescribeBackupVault'],
            Resource: Match.arrayWith([vaultArn(next)]),
          }),
        ]),
      },
    });
  });

  it('leaves no unacknowledged cdk-nag finding on the backup constructs', () => {
    const stack = stacks.regional[region]!;
    const found = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.flatMap((v) =>
          v.violatingResources
            .filter((r) => r.constructPath?.includes('/Backups/'))
            .map((r) => `${v.ruleName}: ${r.constructPath}`),
        ),
    );
    expect(found).toEqual([]);
  });
});

describe('tables.backup in the topology', () => {
  it('is off by default where the tables are unprotected (dev) and deploys nothing', () => {
    const dev = bank.topology('dev');
    expect(dev.tables.backup).toBeNull();
    const template = templatesOf(testEnvironment(dev))[regionNames(dev)[0]!]!;
    template.resourceCountIs('AWS::Backup::BackupPlan', 0);
    template.resourceCountIs('AWS::Backup::BackupVault', 0);
  });

  it('copies to the region copyTo names, and that region to the next one', () => {
    const topology = parseTopology({
      ...prod,
      tables: { ...prod.tables, backup: { retentionDays: 7, copyTo: 'eu-west-1' } },
    });
    const t = templatesOf(testEnvironment(topology));
    const copyOf = (region: string) =>
      Object.values(t[region]!.findResources('AWS::Backup::BackupPlan')).map(
        (r) =>
          (r.Properties as { BackupPlan: { BackupPlanRule: Array<{ CopyActions: unknown[] }> } }).BackupPlan
            .BackupPlanRule[0]?.CopyActions[0],
      )[0];
    expect(copyOf('us-east-1')).toEqual({
      DestinationBackupVaultArn: vaultArn('eu-west-1'),
      Lifecycle: { DeleteAfterDays: 7 },
    });
    expect(copyOf('ap-southeast-1')).toMatchObject({ DestinationBackupVaultArn: vaultArn('eu-west-1') });
    expect(copyOf('eu-west-1')).toMatchObject({ DestinationBackupVaultArn: vaultArn('ap-southeast-1') });
  });

  it('rejects a copy region that is not configured and a schedule that is not an expression', () => {
    const bad = (backup: unknown) => () =>
      parseTopology({ ...prod, tables: { ...prod.tables, backup } }, 'prod.ts');
    expect(bad({ copyTo: 'sa-east-1' })).toThrow(/tables\.backup\.copyTo: must be a configured region/);
    expect(bad({ schedule: 'daily' })).toThrow(ConfigError);
    expect(bad({ schedule: 'daily' })).toThrow(/tables\.backup\.schedule/);
    expect(bad({ retentionDays: 0 })).toThrow(/tables\.backup\.retentionDays/);
  });
});
