import { randomBytes } from 'node:crypto';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { createApiHandler } from '../../../lib/api/index.ts';
import { signPeerToken, staticInternalKey } from '../../../lib/auth/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { type HttpRequest, httpEvent, JWT_CALLER, lambdaContext } from '../../support/http.ts';
import { type BadRequest, badInputCases, VICTIM } from './cases.ts';

// The bad-input classes over every route of the handler, with authentication on as in Lambda.
const REGION = 'us-east-1';
const PEER = 'eu-west-1';
const topology = bank.topology('dev');
const key = randomBytes(32);
let region: TestRegion;
let call: (request: HttpRequest) => Promise<{ status: number; body: Record<string, unknown> }>;

beforeAll(async () => {
  region = await freshRegion(REGION);
  const handler = createApiHandler({
    registry: createRegistry(exampleAggregates, topology),
    events: new EventStore({
      client: region.doc,
      tableName: region.tables.events,
      coreMarkerTableName: region.tables.replication,
    }),
    states: new StateStore({ client: region.doc, tableName: region.tables.state }),
    clock: new HybridLogicalClock({ region: REGION }),
    region: REGION,
    partitions: topology.partitions,
    idempotency: new DynamoDBPersistenceLayer({
      tableName: region.tables.idempotency,
      awsSdkV3Client: region.dynamodb,
    }),
    replicationStatus: async () => ({ region: REGION }),
    auth: {
      caller: 'jwt',
      peers: { key: staticInternalKey(key), env: topology.name, region: REGION, peers: [PEER] },
    },
  });
  call = async (request) => {
    const result = (await handler(httpEvent(request), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    return { status: result.statusCode ?? 0, body: JSON.parse(String(result.body)) };
  };
});

const asCaller = (request: BadRequest): HttpRequest => ({
  method: request.method,
  path: request.path,
  ...(request.body === undefined ? {} : { body: request.body }),
  ...(request.headers ? { headers: { ...request.headers } } : {}),
  ...(request.anonymous ? {} : { authorizer: { ...JWT_CALLER } }),
});

/** Every item of the events and state tables: "changes nothing" compares them. */
async function everything() {
  const scan = async (table: string) =>
    ((await region.doc.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) =>
      JSON.stringify(i),
    );
  return {
    events: (await scan(region.tables.events)).sort(),
    states: (await scan(region.tables.state)).sort(),
  };
}

describe('bad input classes at the handler (every route, authentication on)', () => {
  it('answers every case with its 4xx and the usual JSON error, and changes nothing', async () => {
    const open = { type: 'OpenAccount', payload: { owner: 'Victim', currency: 'EUR' } };
    const opened = await call(
      asCaller({
        method: 'POST',
        path: `/v1/${VICTIM.type}/${VICTIM.id}/commands`,
        body: JSON.stringify(open),
      }),
    );
    expect(opened.status).toBe(200);
    const before = await everything();
    const answers = [];
    for (const c of badInputCases()) {
      const answer = await call(asCaller(c.request));
      answers.push([c.name, answer.status, answer.body.error, typeof answer.body.message]);
    }
    expect(answers).toEqual(badInputCases().map((c) => [c.name, c.status, c.error, 'string']));
    expect(await everything()).toEqual(before);
  });

  it('refuses a forwarded write whose peer token was made for another request, region or key', async () => {
    const path = `/internal/v1/${VICTIM.type}/${VICTIM.id}/commands`;
    const body = JSON.stringify({ type: 'Deposit', payload: { amount: 1 } });
    const token = (over: Partial<Parameters<typeof signPeerToken>[0]> = {}) =>
      signPeerToken({
        key,
        env: topology.name,
        from: PEER,
        to: REGION,
        requestId: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
        request: { method: 'POST', path, body },
        ...over,
      });
    const forged: Array<[string, Promise<string>, string?]> = [
      ['another body', token(), JSON.stringify({ type: 'Deposit', payload: { amount: 1_000 } })],
      ['another region (audience)', token({ to: 'ap-southeast-1' })],
      ['a region that is no peer (issuer)', token({ from: 'sa-east-1' })],
      ['another key', token({ key: randomBytes(32) })],
      ['another path', token({ request: { method: 'POST', path: `${path}x`, body } })],
    ];
    const before = await everything();
    for (const [what, pending, sent = body] of forged) {
      const answer = await call({
        method: 'POST',
        path,
        body: sent,
        headers: { authorization: `Bearer ${await pending}` },
      });
      expect([what, answer.status, answer.body.error]).toEqual([what, 401, 'UnauthenticatedError']);
    }
    expect(await everything()).toEqual(before);
    // The genuine one goes through: the home runs it under the peer's request id.
    const genuine = await call({
      method: 'POST',
      path,
      body,
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(genuine.status).toBe(200);
  });

  it('ignores X-Multiactive-* headers a client sets: no posing as a peer, no borrowed idempotency key', async () => {
    const path = `/v1/${VICTIM.type}/${VICTIM.id}/commands`;
    const posing = {
      'x-multiactive-forwarded-by': PEER,
      'x-multiactive-request-id': 'e3b0c442-98fc-4c14-9afb-f4c8996fb999',
    };
    const deposit = (amount: number) =>
      call({
        method: 'POST',
        path,
        body: JSON.stringify({ type: 'Deposit', payload: { amount } }),
        headers: posing,
        authorizer: { ...JWT_CALLER },
      });
    const first = await deposit(3);
    const second = await deposit(4);
    expect([first.status, second.status]).toEqual([200, 200]);
    // Had the request id been honoured, the second deposit would have replayed the first one's answer.
    expect((second.body.state as { balance: number }).balance).toBe(
      (first.body.state as { balance: number }).balance + 4,
    );
  });
});
