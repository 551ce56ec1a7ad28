import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { createApiHandler } from '../../../lib/api/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  DynamoControlReplica,
  localFenceGuard,
  partitionKey,
  partitionOf,
} from '../../../lib/ownership/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { type HttpRequest, httpEvent, lambdaContext } from '../../support/http.ts';

// Every malformed request gets its documented status and code (README "HTTP API") and changes nothing.
let region: TestRegion;
let events: EventStore;
let states: StateStore;
let call: (request: HttpRequest) => Promise<{ status: number; error: unknown }>;
const REGION = 'us-east-1';
const topology = bank.topology('dev');
const STALE = 'acct-stale';

beforeAll(async () => {
  region = await freshRegion(REGION);
  events = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
    maxEventBytes: 4_096,
  });
  states = new StateStore({ client: region.doc, tableName: region.tables.state });
  const control = new DynamoControlReplica({
    region: REGION,
    client: region.doc,
    tableName: region.tables.control,
  });
  const stalePartition = partitionOf(STALE, topology.partitions);
  // The local copy says epoch 2 (a move happened); the writer still holds epoch 1 for that partition.
  await control.write(partitionKey(stalePartition), {
    epoch: 2,
    ballot: 'b2',
    value: { home: REGION, state: 'active', activeFrom: 0 },
  });
  const handler = createApiHandler({
    registry: createRegistry(exampleAggregates, topology),
    events,
    states,
    clock: new HybridLogicalClock({ region: REGION }),
    region: REGION,
    partitions: topology.partitions,
    fenceCoreWrite: async (partition) => {
      const epoch = partition === stalePartition ? 1 : 2;
      const entry = {
        partition,
        epoch,
        ballot: `b${epoch}`,
        home: REGION,
        state: 'active' as const,
        activeFrom: 0,
      };
      if (partition !== stalePartition)
        await control.write(partitionKey(partition), { epoch, ballot: entry.ballot, value: entry });
      return {
        epoch,
        guards: [localFenceGuard({ tableName: region.tables.control, region: REGION, entry })],
      };
    },
    idempotency: new DynamoDBPersistenceLayer({
      tableName: region.tables.idempotency,
      awsSdkV3Client: region.dynamodb,
    }),
  });
  call = async (request) => {
    const result = (await handler(httpEvent(request), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    return {
      status: result.statusCode ?? 0,
      error: (JSON.parse(String(result.body)) as { error?: unknown }).error,
    };
  };
});

const post = (path: string, body: string) => call({ method: 'POST', path, body });
const json = (id: string, body: unknown, type = 'account') =>
  post(`/v1/${type}/${id}/commands`, JSON.stringify(body));

/** Events and projection row of an aggregate: what "no state change" compares. */
async function footprint(type: string, id: string) {
  const log = await events.loadStream(type, id);
  const row = await states.getState(type, id);
  return { events: log.map((e) => e.eventId), version: row?.version ?? 0, state: row?.state ?? null };
}

describe('bad input at the API edge', () => {
  it('answers each malformed command with its documented error and leaves the account untouched', async () => {
    expect(
      (await json('acct-1', { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } })).status,
    ).toBe(200);
    expect((await json('acct-1', { type: 'Deposit', payload: { amount: 100 } })).status).toBe(200);
    const before = await footprint('account', 'acct-1');
    const cases: Array<[string, Promise<{ status: number; error: unknown }>, number, string]> = [
      ['malformed JSON', post('/v1/account/acct-1/commands', '{"type": "Deposit", '), 400, 'InvalidJson'],
      ['missing body', call({ method: 'POST', path: '/v1/account/acct-1/commands' }), 400, 'MissingBody'],
      ['not a command object', json('acct-1', ['Deposit', 5]), 400, 'InvalidRequest'],
      ['wrong type of type', json('acct-1', { type: 7, payload: {} }), 400, 'InvalidRequest'],
      [
        'wrong payload type',
        json('acct-1', { type: 'Deposit', payload: { amount: '5' } }),
        400,
        'PayloadValidationError',
      ],
      [
        'negative amount',
        json('acct-1', { type: 'Deposit', payload: { amount: -5 } }),
        400,
        'PayloadValidationError',
      ],
      [
        'extra payload field',
        json('acct-1', { type: 'Deposit', payload: { amount: 5, to: 'x' } }),
        400,
        'PayloadValidationError',
      ],
      ['unknown command', json('acct-1', { type: 'Steal', payload: {} }), 400, 'UnknownCommandError'],
      ['overdraw', json('acct-1', { type: 'Withdraw', payload: { amount: 101 } }), 422, 'InsufficientFunds'],
      ['oversize body', post('/v1/account/acct-1/commands', 'x'.repeat(1_100_000)), 413, 'BodyTooLarge'],
    ];
    for (const [name, pending, status, error] of cases) {
      expect([name, (await pending).status, (await pending).error]).toEqual([name, status, error]);
    }
    expect(await footprint('account', 'acct-1')).toEqual(before);
  });

  it('answers an unknown aggregate type with 404 and writes nothing', async () => {
    const response = await json('x1', { type: 'Deposit', payload: { amount: 1 } }, 'wallet');
    expect([response.status, response.error]).toEqual([404, 'UnknownAggregateError']);
    expect(await footprint('wallet', 'x1')).toEqual({ events: [], version: 0, state: null });
  });

  it('answers an event over maxEventBytes with 413 EventTooLargeError and writes nothing', async () => {
    const response = await json(
      'prof-1',
      { type: 'SetDisplayName', payload: { displayName: 'a' } },
      'profile',
    );
    expect(response.status).toBe(200);
    const before = await footprint('profile', 'prof-1');
    const big = await json(
      'prof-1',
      {
        type: 'SetPreferences',
        payload: { preferences: Array.from({ length: 100 }, (_, i) => `${'p'.repeat(60)}${i}`) },
      },
      'profile',
    );
    expect([big.status, big.error]).toEqual([413, 'EventTooLargeError']);
    expect(await footprint('profile', 'prof-1')).toEqual(before);
  });

  it('refuses a core write at a stale epoch with 421 StaleEpochError and writes nothing', async () => {
    const response = await json(STALE, { type: 'OpenAccount', payload: { owner: 'Bob', currency: 'EUR' } });
    expect([response.status, response.error]).toEqual([421, 'StaleEpochError']);
    expect(await footprint('account', STALE)).toEqual({ events: [], version: 0, state: null });
  });
});
