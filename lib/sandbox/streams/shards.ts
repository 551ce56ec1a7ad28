import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ListStreamsCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { StreamNotFoundError } from './errors.ts';

const STREAM_ARN = /^arn:aws[\w-]*:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\/.+$/;
const TABLE_ARN = /^arn:aws[\w-]*:dynamodb:[^:]*:[^:]*:table\/([^/]+)$/;

/**
 * Resolves a stream ARN from a stream ARN (returned as is), a table ARN or a table name, through
 * ListStreams (the table's newest stream).
 */
export async function resolveStreamArn(
  client: DynamoDBStreamsClient,
  tableArnOrStreamArn: string,
): Promise<string> {
  if (STREAM_ARN.test(tableArnOrStreamArn)) return tableArnOrStreamArn;
  const tableName = TABLE_ARN.exec(tableArnOrStreamArn)?.[1] ?? tableArnOrStreamArn;
  const arns: string[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(
      new ListStreamsCommand({ TableName: tableName, ExclusiveStartStreamArn: start }),
    );
    for (const s of page.Streams ?? []) if (s.StreamArn) arns.push(s.StreamArn);
    start = page.LastEvaluatedStreamArn;
  } while (start);
  // Stream labels are ISO timestamps, so the lexically greatest ARN is the newest stream.
  const newest = arns.sort().at(-1);
  if (!newest) throw new StreamNotFoundError(tableArnOrStreamArn);
  return newest;
}

/** Every shard of a stream, following DescribeStream's LastEvaluatedShardId pagination. */
export async function listShards(client: DynamoDBStreamsClient, streamArn: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
    );
    const description = page.StreamDescription;
    if (!description) throw new StreamNotFoundError(streamArn);
    shards.push(...(description.Shards ?? []));
    start = description.LastEvaluatedShardId;
  } while (start);
  return shards;
}

/**
 * Whether a shard may be read now: records of a child shard must not be processed before its parent's,
 * so a shard waits until its parent is finished, unless the parent is no longer listed (trimmed).
 */
export function isReadable(shard: Shard, known: ReadonlySet<string>, finished: ReadonlySet<string>): boolean {
  const parent = shard.ParentShardId;
  return parent === undefined || !known.has(parent) || finished.has(parent);
}
