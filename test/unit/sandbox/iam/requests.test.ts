import { describe, expect, it } from 'vitest';
import {
  busArnOf,
  describeDynamoDbCall,
  describeStreamsCall,
  putEventsCall,
} from '../../../../lib/sandbox/iam/requests.ts';

const target = { region: 'eu-west-1', account: '111111111111' };
const table = (name: string, region = 'eu-west-1') => `arn:aws:dynamodb:${region}:111111111111:table/${name}`;

describe('mapping SDK calls to IAM requests', () => {
  it('authorizes a single-item call on the table the client addresses in its region', () => {
    const call = describeDynamoDbCall(target, 'PutItem', { TableName: 'multiactive-dev-events', Item: {} });
    expect(call).toEqual({
      service: 'dynamodb',
      operation: 'dynamodb:PutItem',
      items: 1,
      requests: [{ action: 'dynamodb:PutItem', resource: table('multiactive-dev-events') }],
    });
  });

  it('authorizes a query or scan of an index on the index ARN', () => {
    const call = describeDynamoDbCall(target, 'Scan', { TableName: 'events', IndexName: 'byPartition' });
    expect(call.requests).toEqual([
      { action: 'dynamodb:Scan', resource: `${table('events')}/index/byPartition` },
    ]);
  });

  it('authorizes every member of a transaction as the item action it performs, once per table and action', () => {
    const call = describeDynamoDbCall(target, 'TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'events', Item: {} } },
        { Put: { TableName: 'events', Item: {} } },
        { Put: { TableName: 'state', Item: {} } },
        { ConditionCheck: { TableName: 'control', Key: {} } },
        { Delete: { TableName: 'replication', Key: {} } },
        { Update: { TableName: 'replication', Key: {} } },
      ],
    });
    expect(call.items).toBe(6);
    expect(call.requests).toEqual([
      { action: 'dynamodb:PutItem', resource: table('events') },
      { action: 'dynamodb:PutItem', resource: table('state') },
      { action: 'dynamodb:ConditionCheckItem', resource: table('control') },
      { action: 'dynamodb:DeleteItem', resource: table('replication') },
      { action: 'dynamodb:UpdateItem', resource: table('replication') },
    ]);
  });

  it('authorizes a batch on every table it names and counts its items', () => {
    const call = describeDynamoDbCall(target, 'BatchGetItem', {
      RequestItems: { control: { Keys: [{}, {}, {}] }, state: { Keys: [{}] } },
    });
    expect(call.items).toBe(4);
    expect(call.requests).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: table('control') },
      { action: 'dynamodb:BatchGetItem', resource: table('state') },
    ]);
    const writes = describeDynamoDbCall(target, 'BatchWriteItem', { RequestItems: { events: [{}, {}] } });
    expect(writes.items).toBe(2);
  });

  it('keeps a table named by ARN (a peer region reached with its ARN)', () => {
    const arn = table('events', 'us-east-1');
    expect(describeDynamoDbCall(target, 'GetItem', { TableName: arn, Key: {} }).requests[0]?.resource).toBe(
      arn,
    );
  });

  it("names DynamoDB Local's streams as AWS does, with the sandbox's stream label", () => {
    const local =
      'arn:aws:dynamodb:ddblocal:000000000000:table/multiactive-dev-events/stream/2026-11-30T10:00:00.000';
    expect(describeStreamsCall(target, 'DescribeStream', { StreamArn: local }).requests).toEqual([
      { action: 'dynamodb:DescribeStream', resource: `${table('multiactive-dev-events')}/stream/sandbox` },
    ]);
    expect(describeStreamsCall(target, 'ListStreams', { TableName: 'x' }).requests).toEqual([
      { action: 'dynamodb:ListStreams', resource: '*' },
    ]);
  });

  it('puts events on the bus an entry names, the default bus when it names none', () => {
    expect(busArnOf(target, 'multiactive-dev-bus')).toBe(
      'arn:aws:events:eu-west-1:111111111111:event-bus/multiactive-dev-bus',
    );
    expect(busArnOf(target, undefined)).toBe('arn:aws:events:eu-west-1:111111111111:event-bus/default');
    expect(putEventsCall('arn:x', 3)).toMatchObject({
      items: 3,
      requests: [{ action: 'events:PutEvents', resource: 'arn:x' }],
    });
  });
});
