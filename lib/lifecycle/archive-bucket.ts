import type { Topology } from '../config/schema.ts';
import { bugEnabled } from '../faults/switches.ts';

/** S3 bucket names are at most 63 characters. */
const MAX_BUCKET_NAME = 63;

/**
 * The retention archive's bucket of one region: `multiactive-<env>-<region>-archive-<account>` (bucket names
 * are global, hence the account). Deterministic, so a function reads a peer's archive by name with no
 * cross-region reference, as it names a peer's tables.
 */
export function archiveBucketName(topology: Pick<Topology, 'name' | 'account'>, region: string): string {
  const name = `multiactive-${topology.name}-${region}-archive-${topology.account}`;
  if (name.length > MAX_BUCKET_NAME)
    throw new Error(
      `S3 bucket name ${name} is ${name.length} characters (at most ${MAX_BUCKET_NAME}): use a shorter environment name`,
    );
  return name;
}

export function archiveBucketArn(topology: Pick<Topology, 'name' | 'account'>, region: string): string {
  return `arn:aws:s3:::${archiveBucketName(topology, region)}`;
}

/**
 * Whether some aggregate type of the topology has a retention, or keeps its archive for the stubs a past
 * retention left (`lifecycle.archive: 'keep'`): only then is there an archive at all (bucket, grants,
 * readers). Under `plan-forgets-archived-stubs`, the kept archive does not count.
 */
export function hasRetention(topology: Pick<Topology, 'aggregates'>): boolean {
  return topology.aggregates.some(
    (a) =>
      a.lifecycle?.retentionDays !== undefined ||
      (a.lifecycle?.archive === 'keep' && !bugEnabled('plan-forgets-archived-stubs')),
  );
}
