import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../examples/bank/index.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { createApiHandler } from '../../lib/api/index.ts';
import { HybridLogicalClock } from '../../lib/clock/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import { EventStore, StateStore } from '../../lib/store/index.ts';
import { freshRegion } from '../support/dynamo.ts';
import { type HttpRequest, httpEvent, lambdaContext } from '../support/http.ts';

let rowTable: { doc: DynamoDBDocumentClient; table: string; states: StateStore };
let call: (
  request: HttpRequest,
) => Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }>;

beforeAll(async () => {
  const region = await freshRegion('us-east-1');
  const topology = bank.topology('dev');
  const states = new StateStore({ client: region.doc, tableName: region.tables.state });
  rowTable = { doc: region.doc, table: region.tables.state, states };
  const handler = createApiHandler({
    registry: createRegistry(exampleAggregates, topology),
    events: new EventStore({
      client: region.doc,
      tableName: region.tables.events,
      coreMarkerTableName: region.tables.replication,
      maxEventBytes: 4_096,
    }),
    states,
    clock: new HybridLogicalClock({ region: 'us-east-1' }),
    region: 'us-east-1',
    partitions: topology.partitions,
    idempotency: new DynamoDBPersistenceLayer({
      tableName: region.tables.idempotency,
      awsSdkV3Client: region.dynamodb,
    }),
  });
  call = async (request) => {
    const result = (await handler(httpEvent(request), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    return {
      status: result.statusCode ?? 0,
      body: JSON.parse(String(result.body)) as Record<string, unknown>,
      headers: (result.headers ?? {}) as Record<string, string>,
    };
  };
});

const command = (id: string, body: unknown, type = 'account') =>
  call({ method: 'POST', path: `/v1/${type}/${id}/commands`, body: JSON.stringify(body) });

describe('API handler (API Gateway HTTP API v2 events)', () => {
  it('runs a command and returns the new state, the region and a consistency token', async () => {
    await command('a1', { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } });
    const response = await command('a1', { type: 'Deposit', payload: { amount: 250 } });
    expect(response.status).toBe(200);
    expect(response.body.state).toEqual({ opened: true, owner: 'Ada', currency: 'EUR', balance: 250 });
    expect(response.headers['X-Multiactive-Region']).toBe('us-east-1');
    // A core write's token: its HLC (ending in the origin), then the write's seq, epoch and event id.
    expect(response.headers['X-Consistency-Token']).toMatch(/\.us-east-1~2~0~[0-9A-Z]{26}$/);
    const read = await call({ method: 'GET', path: '/v1/account/a1' });
    expect(read.status).toBe(200);
    expect(read.body.state).toMatchObject({ balance: 250 });
  });

  it('reads a core aggregate caught up with its log when the row write after an append did not happen', async () => {
    await command('lag-1', { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } });
    await command('lag-1', { type: 'Deposit', payload: { amount: 250 } });
    const before = await rowTable.states.getState('account', 'lag-1');
    await command('lag-1', { type: 'Deposit', payload: { amount: 5 } });
    // The append of the second deposit landed, its row write did not (it timed out, the process died).
    await rowTable.doc.send(
      new PutCommand({ TableName: rowTable.table, Item: { pk: 'account#lag-1', ...before } }),
    );
    const read = await call({ method: 'GET', path: '/v1/account/lag-1' });
    expect(read.body).toMatchObject({ version: 3, state: { balance: 255 } });
    expect((await rowTable.states.getState('account', 'lag-1'))?.version).toBe(3);
  });

  it('accepts a base64-encoded body', async () => {
    const response = await call({
      method: 'POST',
      path: '/v1/profile/p1/commands',
      body: JSON.stringify({ type: 'SetDisplayName', payload: { displayName: 'Grace' } }),
      base64: true,
    });
    expect(response.status).toBe(200);
    expect(response.body.state).toMatchObject({ displayName: 'Grace' });
  });

  it('answers invalid JSON with 400 InvalidJson', async () => {
    const response = await call({ method: 'POST', path: '/v1/account/a2/commands', body: '{"type":' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('InvalidJson');
  });

  it('answers a missing body with 400 MissingBody', async () => {
    const response = await call({ method: 'POST', path: '/v1/account/a2/commands' });
    expect([response.status, response.body.error]).toEqual([400, 'MissingBody']);
  });

  it('answers a body of the wrong shape with 400 InvalidRequest and the issues', async () => {
    const response = await command('a2', { kind: 'Deposit' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('InvalidRequest');
    expect(JSON.stringify(response.body.details)).toContain('type');
  });

  it('answers an unknown aggregate type with 404 and the known types', async () => {
    const response = await command('x', { type: 'Anything' }, 'invoice');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({
      error: 'UnknownAggregateError',
      details: { known: ['account', 'profile', 'activity', 'transfer'] },
    });
  });

  it('answers an unknown command with 400 and the known commands', async () => {
    const response = await command('a2', { type: 'Transfer', payload: {} });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'UnknownCommandError',
      details: {
        known: [
          'OpenAccount',
          'Deposit',
          'Withdraw',
          'PlaceHold',
          'SettleHold',
          'ReleaseHold',
          'CreditTransfer',
        ],
      },
    });
  });

  it('answers a payload that breaks the command schema with 400 and the path of the problem', async () => {
    const response = await command('a2', { type: 'Deposit', payload: { amount: -5 } });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('PayloadValidationError');
    expect(response.body.details).toMatchObject({ issues: [{ path: 'amount' }] });
  });

  it('answers a domain refusal with 422 and its code', async () => {
    await command('a3', { type: 'OpenAccount', payload: { owner: 'Lin', currency: 'USD' } });
    const response = await command('a3', { type: 'Withdraw', payload: { amount: 1 } });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      error: 'InsufficientFunds',
      details: { available: 0, requested: 1 },
    });
    const deposit = await command('a4', { type: 'Deposit', payload: { amount: 1 } });
    expect([deposit.status, deposit.body.error]).toEqual([422, 'AccountNotOpen']);
  });

  it('answers an oversized event with 413 and the limit', async () => {
    const response = await command(
      'big',
      { type: 'AppendEntry', payload: { kind: 'x', message: 'y'.repeat(1_000) } },
      'activity',
    );
    expect(response.status).toBe(200);
    const huge = await call({
      method: 'POST',
      path: '/v1/profile/big/commands',
      body: JSON.stringify({
        type: 'SetPreferences',
        payload: { preferences: Array.from({ length: 100 }, (_, i) => `${'p'.repeat(60)}${i}`) },
      }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: 'EventTooLargeError', details: { maxBytes: 4_096 } });
  });

  it('answers a request body over the size limit with 413 before parsing it', async () => {
    const response = await call({
      method: 'POST',
      path: '/v1/account/a5/commands',
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect([response.status, response.body.error]).toEqual([413, 'BodyTooLarge']);
  });

  it('answers reading an aggregate that does not exist with 404', async () => {
    const response = await call({ method: 'GET', path: '/v1/account/nobody' });
    expect([response.status, response.body.error]).toEqual([404, 'NotFound']);
  });

  it('answers an unknown route with 404 RouteNotFound', async () => {
    const response = await call({ method: 'GET', path: '/v2/elsewhere' });
    expect([response.status, response.body.error]).toEqual([404, 'RouteNotFound']);
  });

  it('replays the stored response for a repeated idempotency key instead of running the command again', async () => {
    await command('idem', { type: 'OpenAccount', payload: { owner: 'Kim', currency: 'EUR' } });
    const body = { type: 'Deposit', payload: { amount: 10 }, idempotencyKey: 'k-1' };
    const first = await command('idem', body);
    const second = await command('idem', body);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const read = await call({ method: 'GET', path: '/v1/account/idem' });
    expect(read.body.state).toMatchObject({ balance: 10 });
  });

  it('refuses the same idempotency key with a different command with 422', async () => {
    await command('idem2', { type: 'OpenAccount', payload: { owner: 'Kim', currency: 'EUR' } });
    await command('idem2', { type: 'Deposit', payload: { amount: 10 }, idempotencyKey: 'k-2' });
    const reused = await command('idem2', {
      type: 'Deposit',
      payload: { amount: 99 },
      idempotencyKey: 'k-2',
    });
    expect([reused.status, reused.body.error]).toEqual([422, 'IdempotencyValidationError']);
  });

  it('reports health with the region name', async () => {
    const response = await call({ method: 'GET', path: '/health' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ region: 'us-east-1', healthy: true });
  });
});
