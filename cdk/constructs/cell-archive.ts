import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { archiveBucketArn, archiveBucketName } from '../../lib/lifecycle/archive-bucket.ts';
import { ARCHIVER_ACCESS } from './access-table.ts';
import { ARCHIVER, NO_DLQ_REASON } from './function-defaults.ts';
import { accessStatements } from './grants.ts';
import { HandlerFunction } from './handler-function.ts';
import { acknowledge } from './nag.ts';

/** Archive objects move to S3 Glacier Instant Retrieval after this many days (reads stay synchronous). */
export const ARCHIVE_COLD_AFTER_DAYS = 30;
/** Older versions of an object (a retried pass rewrites the same body) are kept this long, then expire. */
export const ARCHIVE_NONCURRENT_DAYS = 90;
/**
 * The archive pass runs once a day (`rate(1 day)`: the sandbox runs rate schedules scaled by its time
 * factor; the horizon is whole UTC days, so the hour of the run does not matter).
 */
export const ARCHIVE_PERIOD = Duration.days(1);
/** Variable naming the region's archive bucket, for every function that reads or writes it. */
export const ARCHIVE_BUCKET_VARIABLE = 'ARCHIVE_BUCKET';

export interface CellArchiveProps {
  readonly topology: Topology;
  readonly region: string;
  /** Environment shared by every function of the cell (identity, tables, bus, endpoints). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Functions that read archives (restore, retires and row rebuilds over archived logs): each gets the
   * bucket's name and GetObject/ListBucket on the buckets of `regions` (its own, or every region's).
   */
  readonly readers: ReadonlyArray<{ readonly fn: nodejs.NodejsFunction; readonly regions: 'local' | 'all' }>;
  readonly applicationModule?: string;
}

/**
 * The retention archive of a cell, only where some aggregate type has `lifecycle.retentionDays`: the
 * region's bucket (SSE-S3, public access blocked, TLS only, versioned, objects to Glacier Instant Retrieval
 * after `ARCHIVE_COLD_AFTER_DAYS`, retained with the stack), the archiver function (`functions/archiver`)
 * on a daily schedule, and its least-privilege grants: the rows of `ARCHIVER_ACCESS` and Put/GetObject on
 * its own bucket only.
 */
export class CellArchive extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly fn: nodejs.NodejsFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: CellArchiveProps) {
    super(scope, id);
    const { topology, region } = props;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: archiveBucketName(topology, region),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      // The archive is the only copy of an archived payload: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'colder-after-days',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(ARCHIVE_COLD_AFTER_DAYS),
            },
          ],
          noncurrentVersionExpiration: Duration.days(ARCHIVE_NONCURRENT_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'Only the archiver writes and only platform roles read this bucket (IAM, TLS-only policy); object-level access is audited with CloudTrail data events where an account enables them, not with a second logging bucket per region.',
    );

    // The name, not a Ref: every bucket is named deterministically, as peers' buckets are read by name.
    const bucketName = archiveBucketName(topology, region);
    const environment = { ...props.environment, [ARCHIVE_BUCKET_VARIABLE]: bucketName };
    const archiver = new HandlerFunction(this, 'Function', {
      env: topology.name,
      region,
      name: ARCHIVER,
      environment,
      ...(props.applicationModule ? { applicationModule: props.applicationModule } : {}),
    });
    this.fn = archiver.fn;
    for (const statement of accessStatements(topology, region, ARCHIVER_ACCESS))
      this.fn.addToRolePolicy(statement);
    const objects = `${archiveBucketArn(topology, region)}/*`;
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [objects] }),
    );
    // Its pass cursor is read before the first pass wrote it: S3 answers a GetObject of a missing key with
    // 404 only to a role that may list the bucket (403 AccessDenied otherwise).
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [archiveBucketArn(topology, region)],
      }),
    );
    acknowledge(
      archiver,
      `AwsSolutions-IAM5[Resource::${objects}]`,
      "the archive's objects, and only those of this region's bucket: one key per aggregate, day and seq range, written and read back by the archiver",
    );

    for (const reader of props.readers) {
      reader.fn.addEnvironment(ARCHIVE_BUCKET_VARIABLE, bucketName);
      const regions = reader.regions === 'all' ? regionNames(topology) : [region];
      reader.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: regions.map((r) => archiveBucketArn(topology, r)),
        }),
      );
      reader.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: regions.map((r) => `${archiveBucketArn(topology, r)}/*`),
        }),
      );
      for (const r of regions)
        acknowledge(
          reader.fn.node.scope ?? reader.fn,
          `AwsSolutions-IAM5[Resource::${archiveBucketArn(topology, r)}/*]`,
          "reads archived events of the retention archive (restore, retires and row rebuilds over an archived log): that region's archive bucket only",
        );
    }

    this.rule = new events.Rule(this, 'Schedule', {
      ruleName: `multiactive-${topology.name}-archiver`,
      description: 'Retention: the archive pass of this region, daily',
      schedule: events.Schedule.rate(ARCHIVE_PERIOD),
      // A failed pass leaves everything hot; the next day's pass redoes it.
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 0 })],
    });
    acknowledge(this.rule, 'Serverless-EventBusDLQ', NO_DLQ_REASON[ARCHIVER]);
  }
}
