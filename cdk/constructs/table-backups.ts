import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type BackupConfig, backupCopyRegion, type Topology } from '../../lib/config/index.ts';
import { backupVaultArn, backupVaultName, roleName } from '../naming.ts';
import { acknowledge, nagArnToken } from './nag.ts';
import type { Tables } from './tables.ts';

export interface TableBackupsProps {
  readonly topology: Topology;
  readonly region: string;
  readonly backup: BackupConfig;
  readonly tables: Tables;
}

/**
 * AWS Backup of a cell's tables: a vault encrypted with its own key, a plan with one scheduled rule whose
 * recovery points are kept `retentionDays` and copied to the vault of the same name in another region,
 * and a selection of every table of the cell. Replication is no backup (it copies a corruption everywhere within a
 * second); PITR covers 35 days in the region; this is the copy that survives the region and the account's
 * mistakes on the table itself (a DeleteTable, a bad restore).
 */
export class TableBackups extends Construct {
  public readonly key: kms.Key;
  public readonly vault: backup.BackupVault;
  public readonly plan: backup.BackupPlan;
  /** The role AWS Backup assumes to back up (and restore) the tables; inline grants only. */
  public readonly role: iam.Role;
  /** The region the recovery points are copied to. */
  public readonly copyRegion: string;

  constructor(scope: Construct, id: string, props: TableBackupsProps) {
    super(scope, id);
    const { topology, region, backup: config, tables } = props;
    const protectedData = topology.tables.deletionProtection;
    const removalPolicy = protectedData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.copyRegion = backupCopyRegion(topology, region);

    this.key = new kms.Key(this, 'Key', {
      description: `multiactive ${topology.name}: AWS Backup vault of the tables in ${region}`,
      enableKeyRotation: true,
      removalPolicy,
    });
    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: backupVaultName(topology.name),
      encryptionKey: this.key,
      // The access policy denies everyone DeleteRecoveryPoint and lifecycle changes: a compromised or
      // mistaken principal cannot shorten what the plan keeps (expiry by the lifecycle still happens).
      blockRecoveryPointDeletion: true,
      removalPolicy,
    });

    this.role = new iam.Role(this, 'Role', {
      roleName: roleName(topology.name, region, 'backup'),
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: 'AWS Backup: back up and restore the cell tables (inline, least privilege)',
    });
    this.grantBackupAndRestore(topology, tables);

    const destination = backup.BackupVault.fromBackupVaultArn(
      this,
      'CopyVault',
      backupVaultArn(topology, this.copyRegion),
    );
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: `multiactive-${topology.name}-tables`,
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Scheduled',
          scheduleExpression: events.Schedule.expression(config.schedule),
          deleteAfter: Duration.days(config.retentionDays),
          copyActions: [
            { destinationBackupVault: destination, deleteAfter: Duration.days(config.retentionDays) },
          ],
        }),
      ],
    });
    this.plan.addSelection('Tables', {
      resources: Object.values(tables.byKind).map((table) => backup.BackupResource.fromDynamoDbTable(table)),
      role: this.role,
      // Its default attaches AWSBackupServiceRolePolicyForBackup; the role has the DynamoDB part inline.
      disableDefaultBackupPolicy: true,
    });
  }

  /**
   * The DynamoDB part of AWS's AWSBackupServiceRolePolicyForBackup/ForRestores, scoped to this cell's
   * tables and the two vaults (the platform attaches no managed policy to any role).
   */
  private grantBackupAndRestore(topology: Topology, tables: Tables): void {
    const tableArns = Object.values(tables.byKind).map((t) => t.tableArn);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'dynamodb:DescribeTable',
          'dynamodb:CreateBackup',
          'dynamodb:StartAwsBackupJob',
          'dynamodb:ListTagsOfResource',
          // Restores into a table of the same name (AWS Backup writes the items back).
          'dynamodb:RestoreTableFromAwsBackup',
          'dynamodb:BatchWriteItem',
          'dynamodb:PutItem',
        ],
        resources: tableArns,
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeBackup', 'dynamodb:DeleteBackup', 'dynamodb:RestoreTableFromBackup'],
        resources: tableArns.map((arn) => `${arn}/backup/*`),
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['backup:DescribeBackupVault', 'backup:CopyIntoBackupVault'],
        resources: [this.vault.backupVaultArn, backupVaultArn(topology, this.copyRegion)],
      }),
    );
    // Named actions rather than grantEncryptDecrypt's GenerateDataKey*/ReEncrypt* wildcards.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant'],
        resources: [this.key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    for (const table of Object.values(tables.byKind)) {
      acknowledge(
        this.role,
        `AwsSolutions-IAM5[Resource::${nagArnToken(table)}/backup/*]`,
        'DynamoDB names a backup with a generated id under its table: table/<name>/backup/* is the narrowest ARN.',
      );
    }
  }
}
