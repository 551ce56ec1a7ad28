import { SANDBOX_STREAM_LABEL } from '../cdk/intrinsics.ts';

/** What IAM authorizes: one action on one resource. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
}

/** An SDK call translated for IAM and for the usage counters. */
export interface CallDescription {
  /** IAM service prefix (`dynamodb`, `events`, ...). */
  readonly service: string;
  /** The API operation, as `service:Operation` (what a bill counts). */
  readonly operation: string;
  /** Items the call carries (batch and transaction members, PutEvents entries); 1 otherwise. */
  readonly items: number;
  /** Every authorization the call needs: transactions and batches check each table they touch. */
  readonly requests: readonly AuthorizationRequest[];
}

/** Where the client is pointed: the region and account its ARNs live in. */
export interface CallTarget {
  readonly region: string;
  readonly account: string;
}

type Input = Record<string, unknown>;

function tableArn(target: CallTarget, nameOrArn: unknown): string {
  const name = String(nameOrArn);
  return name.startsWith('arn:') ? name : `arn:aws:dynamodb:${target.region}:${target.account}:table/${name}`;
}

/** DynamoDB Local's stream ARNs (`arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/<label>`) as AWS names them. */
export function streamArn(target: CallTarget, localArn: unknown): string {
  const arn = String(localArn);
  const table = arn.slice(arn.indexOf(':table/') + ':table/'.length, arn.indexOf('/stream/'));
  return `${tableArn(target, table)}/stream/${SANDBOX_STREAM_LABEL}`;
}

const unique = (requests: AuthorizationRequest[]) => [
  ...new Map(requests.map((r) => [`${r.action} ${r.resource}`, r])).values(),
];

/** Transaction members are authorized as the item action they perform (there is no TransactWriteItems action). */
const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

function transact(target: CallTarget, input: Input): AuthorizationRequest[] {
  const members = (input.TransactItems as Array<Record<string, { TableName?: unknown }>> | undefined) ?? [];
  return members.flatMap((member) =>
    Object.entries(member).flatMap(([kind, body]) =>
      TRANSACT_ACTIONS[kind]
        ? [{ action: TRANSACT_ACTIONS[kind], resource: tableArn(target, body.TableName) }]
        : [],
    ),
  );
}

function batchItems(input: Input): number {
  const byTable = (input.RequestItems as Record<string, unknown> | undefined) ?? {};
  return Object.values(byTable).reduce<number>((sum, value) => {
    if (Array.isArray(value)) return sum + value.length;
    const keys = (value as { Keys?: unknown[] }).Keys;
    return sum + (keys?.length ?? 0);
  }, 0);
}

/** Attributes that can be a key in our tables (pk/sk, or id): an item's identity within its table. */
const KEY_NAMES = ['pk', 'sk', 'id'] as const;

/**
 * What DynamoDB in AWS refuses in a TransactWriteItems that DynamoDB Local accepts: two actions on one item
 * ("Transaction request cannot include multiple operations on one item", a ValidationException). Returns
 * the message AWS gives, or undefined when the call is not such a transaction.
 */
export function dynamoDbValidationError(operation: string, input: Input): string | undefined {
  if (operation !== 'TransactWriteItems') return undefined;
  const members = (input.TransactItems as Array<Record<string, Input>> | undefined) ?? [];
  const seen = new Set<string>();
  for (const member of members)
    for (const body of Object.values(member)) {
      const attributes = ((body.Item ?? body.Key) as Input | undefined) ?? {};
      const key = JSON.stringify([body.TableName, ...KEY_NAMES.map((name) => attributes[name] ?? null)]);
      if (seen.has(key)) return 'Transaction request cannot include multiple operations on one item';
      seen.add(key);
    }
  return undefined;
}

/** A DynamoDB call: the table (or index) it names, batches per table, transactions per member. */
export function describeDynamoDbCall(target: CallTarget, operation: string, input: Input): CallDescription {
  const action = `dynamodb:${operation}`;
  const base = { service: 'dynamodb', operation: action };
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
    const tables = Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {});
    return {
      ...base,
      items: batchItems(input),
      requests: tables.map((t) => ({ action, resource: tableArn(target, t) })),
    };
  }
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const members = (input.TransactItems as unknown[] | undefined)?.length ?? 0;
    return { ...base, items: members, requests: unique(transact(target, input)) };
  }
  if (input.TableName === undefined) return { ...base, items: 1, requests: [{ action, resource: '*' }] };
  const table = tableArn(target, input.TableName);
  const resource = typeof input.IndexName === 'string' ? `${table}/index/${input.IndexName}` : table;
  return { ...base, items: 1, requests: [{ action, resource }] };
}

/** A DynamoDB Streams call (an event source mapping's reads): the stream it names. */
export function describeStreamsCall(target: CallTarget, operation: string, input: Input): CallDescription {
  const action = `dynamodb:${operation}`;
  const arn = input.StreamArn ?? streamOfIterator(input.ShardIterator);
  return {
    service: 'dynamodb',
    operation: action,
    items: 1,
    requests: [{ action, resource: arn === undefined ? '*' : streamArn(target, arn) }],
  };
}

/** DynamoDB Local's shard iterators start with the stream ARN they belong to. */
function streamOfIterator(iterator: unknown): string | undefined {
  if (typeof iterator !== 'string') return undefined;
  const match = /arn:aws:dynamodb:[^|]*?\/stream\/[^|]+?(?=\||$)/.exec(iterator);
  return match?.[0];
}

/** PutEvents on one bus (by name or ARN; the default bus when none is named). */
export function busArnOf(target: CallTarget, nameOrArn: string | undefined): string {
  const name = nameOrArn ?? 'default';
  return name.startsWith('arn:')
    ? name
    : `arn:aws:events:${target.region}:${target.account}:event-bus/${name}`;
}

/** A call that needs one action on one resource (`service` is the action's prefix). */
function singleCall(action: string, resource: string, items = 1, operation = action): CallDescription {
  return {
    service: action.slice(0, action.indexOf(':')),
    operation,
    items,
    requests: [{ action, resource }],
  };
}

/** PutEvents of `entries` on one bus (each entry is an item; the size is the entries' JSON). */
export function putEventsCall(busArn: string, entries: number): CallDescription {
  return singleCall('events:PutEvents', busArn, entries);
}

/** Lambda Invoke of one function (by Step Functions or an EventBridge rule). */
export function invokeCall(functionArn: string): CallDescription {
  return singleCall('lambda:InvokeFunction', functionArn, 1, 'lambda:Invoke');
}

/** StartExecution of one state machine (by an EventBridge rule). */
export function startExecutionCall(stateMachineArn: string): CallDescription {
  return singleCall('states:StartExecution', stateMachineArn);
}

/** SendMessage to one queue (EventBridge handing a given-up event to a target's dead-letter queue). */
export function sendMessageCall(queueArn: string): CallDescription {
  return singleCall('sqs:SendMessage', queueArn);
}

/** ReceiveMessage on one queue (an event source mapping polling it, as the function's role). */
export function receiveMessageCall(queueArn: string, max: number): CallDescription {
  return singleCall('sqs:ReceiveMessage', queueArn, max);
}

/** DeleteMessageBatch of `items` messages of one queue (authorized as sqs:DeleteMessage). */
export function deleteMessageCall(queueArn: string, items: number): CallDescription {
  return singleCall('sqs:DeleteMessage', queueArn, items, 'sqs:DeleteMessageBatch');
}

/** ChangeMessageVisibilityBatch of `items` messages of one queue (a function backing off failed records). */
export function changeVisibilityCall(queueArn: string, items: number): CallDescription {
  return singleCall('sqs:ChangeMessageVisibility', queueArn, items, 'sqs:ChangeMessageVisibilityBatch');
}

/** GetSecretValue of one secret (a function reading the environment's internal key). */
export function getSecretValueCall(secretArn: string): CallDescription {
  return singleCall('secretsmanager:GetSecretValue', secretArn);
}

/**
 * An S3 object call on an archive bucket (the sandbox's local directory standing in for it): GetObject or
 * PutObject on `arn:aws:s3:::<bucket>/<key>`, as AWS authorizes them (`bytes` counted by the caller).
 */
export function s3ObjectCall(
  action: 's3:GetObject' | 's3:PutObject',
  bucket: string,
  key: string,
  options: { missing?: boolean } = {},
): CallDescription {
  const call = singleCall(action, `arn:aws:s3:::${bucket}/${key}`);
  // S3 answers a GetObject of a missing key with 404 NoSuchKey only to a caller that may list the bucket;
  // without s3:ListBucket it is refused (403 AccessDenied).
  if (action !== 's3:GetObject' || !options.missing) return call;
  return {
    ...call,
    requests: [...call.requests, { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` }],
  };
}

/** ListObjectsV2 on a bucket: authorized as `s3:ListBucket` on the bucket's ARN (not its objects'). */
export function s3ListCall(bucket: string): CallDescription {
  return singleCall('s3:ListBucket', `arn:aws:s3:::${bucket}`, 1, 's3:ListObjectsV2');
}
