import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { copySize, copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

async function streamRecords(region: TestRegion): Promise<number> {
  const table = await region.dynamodb.send(new DescribeTableCommand({ TableName: region.tables.events }));
  const StreamArn = table.Table?.LatestStreamArn;
  if (!StreamArn) return -1;
  const stream = await region.streams.send(new DescribeStreamCommand({ StreamArn }));
  let records = 0;
  for (const shard of stream.StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await region.streams.send(
      new GetShardIteratorCommand({ StreamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const page = await region.streams.send(new GetRecordsCommand({ ShardIterator }));
    records += page.Records?.length ?? 0;
  }
  return records;
}

const put = (region: TestRegion, sk: string, extra: Record<string, unknown> = {}) =>
  region.doc.send(
    new PutCommand({
      TableName: region.tables.events,
      Item: {
        pk: 'account#a1',
        sk,
        ppk: 'p#7',
        eventId: sk,
        amount: 12345678901234,
        tags: new Set(['x', 'y']),
        ...extra,
      },
    }),
  );

describe('the sandbox stand-in for a point-in-time restore (table copy)', () => {
  it('restores every table to the copy: later items are gone, overwritten ones come back byte for byte', async () => {
    const region = await freshRegion('eu-west-1', 'copy');
    await put(region, 'SEQ#1');
    await put(region, 'SEQ#2', { note: 'before T' });
    const copy = await copyTables(region.dynamodb, { region: 'eu-west-1', env: region.env });
    expect(copySize(copy).events).toBe(2);

    await put(region, 'SEQ#3');
    await put(region, 'SEQ#2', { note: 'after T' });
    await restoreTables(region.dynamodb, copy);

    const get = (sk: string) =>
      region.doc.send(new GetCommand({ TableName: region.tables.events, Key: { pk: 'account#a1', sk } }));
    expect((await get('SEQ#3')).Item).toBeUndefined();
    expect((await get('SEQ#2')).Item).toMatchObject({ note: 'before T', amount: 12345678901234 });
    expect((await get('SEQ#2')).Item?.tags).toEqual(new Set(['x', 'y']));
    expect(copySize(await copyTables(region.dynamodb, { region: 'eu-west-1', env: region.env }))).toEqual(
      copySize(copy),
    );
  });

  it('gives the restored events table a new, empty stream (nothing restored is republished), which then records new writes', async () => {
    const region = await freshRegion('eu-west-1', 'copy');
    await put(region, 'SEQ#1');
    const before = await region.dynamodb.send(new DescribeTableCommand({ TableName: region.tables.events }));
    const copy = await copyTables(region.dynamodb, { region: 'eu-west-1', env: region.env });
    await restoreTables(region.dynamodb, copy);

    const after = await region.dynamodb.send(new DescribeTableCommand({ TableName: region.tables.events }));
    expect(after.Table?.StreamSpecification).toEqual(before.Table?.StreamSpecification);
    expect(after.Table?.LatestStreamArn).not.toBe(before.Table?.LatestStreamArn);
    expect(await streamRecords(region)).toBe(0);
    await put(region, 'SEQ#2');
    expect(await streamRecords(region)).toBe(1);
  });
});
