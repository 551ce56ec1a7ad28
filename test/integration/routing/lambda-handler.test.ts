import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { provideApplication } from '../../../functions/shared/application.ts';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { DynamoControlReplica, QuorumRegister } from '../../../lib/ownership/index.ts';
import { WatermarkStore } from '../../../lib/replication/index.ts';
import { setRegionTraffic } from '../../../lib/resilience/index.ts';
import { localClients } from '../../../lib/sandbox/dynamodb/clients.ts';
import { createTables, tableNames } from '../../../lib/store/index.ts';
import { type HttpRequest, httpEvent, JWT_CALLER, lambdaContext } from '../../support/http.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
const HERE = 'us-east-1';
const env = `lh${process.pid}x${Date.now().toString(36)}`;
const tables = tableNames(env);

type Handler = typeof import('../../../functions/api/handler.ts')['handler'];
let handler: Handler;

async function call(request: HttpRequest) {
  // A client of the dev API, as API Gateway's JWT authorizer passes it on.
  const event = httpEvent({ authorizer: JWT_CALLER, ...request });
  const result = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  return {
    status: result.statusCode,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: JSON.parse(String(result.body)) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  // The same table names in every region, each region a namespace of the shared DynamoDB Local.
  const clients = REGIONS.map((region) => localClients(endpoint, region));
  await Promise.all(clients.map((c) => createTables(c.dynamodb, env)));
  const register = new QuorumRegister({
    replicas: REGIONS.map(
      (region, i) => new DynamoControlReplica({ region, client: clients[i]!.doc, tableName: tables.control }),
    ),
  });
  await setRegionTraffic(register, HERE, 'drained', 'test');
  // eu-west-1 was last heard from 30 s ago: its sync breaker opens.
  const wall = Date.now() - 30_000;
  await new WatermarkStore({ client: clients[0]!.doc, tableName: tables.replication }).advance(
    'eu-west-1',
    encodeHlc({ wall, logical: 0, region: 'eu-west-1' }),
    new Date(wall + 50),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    MULTIACTIVE_ENV: 'dev',
    MULTIACTIVE_REGION: HERE,
    TABLE_EVENTS: tables.events,
    TABLE_STATE: tables.state,
    TABLE_REPLICATION: tables.replication,
    TABLE_CONTROL: tables.control,
    TABLE_QUARANTINE: tables.quarantine,
    TABLE_IDEMPOTENCY: tables.idempotency,
    EVENT_BUS_NAME: `multiactive-${env}-bus`,
    REGION_ENDPOINTS: JSON.stringify(Object.fromEntries(REGIONS.map((r) => [r, `https://${r}.api.test`]))),
  });
  // What the bundle's injected provide-application.ts does before the handler module runs.
  provideApplication(bank);
  ({ handler } = await import('../../../functions/api/handler.ts'));
});

describe('the API Lambda handler (functions/api) wired with replication adapters', () => {
  it('reports drained from the control state, degraded peers from the watermarks and lag per origin', async () => {
    const health = await call({ method: 'GET', path: '/health' });
    expect(health.status).toBe(503);
    expect(health.headers['X-Multiactive-Region']).toBe(HERE);
    expect(health.body).toMatchObject({
      region: HERE,
      healthy: false,
      traffic: { state: 'drained', reason: 'test' },
      degradedPeers: ['eu-west-1'],
      breakers: {
        sync: { 'eu-west-1': { state: 'open' }, 'ap-southeast-1': { state: 'closed', lagMs: null } },
      },
    });
    const origins = (health.body.replication as { origins: Array<{ origin: string; lagMs: number | null }> })
      .origins;
    expect(origins.find((o) => o.origin === 'eu-west-1')?.lagMs).toBeGreaterThanOrEqual(30_000);

    const status = await call({ method: 'GET', path: '/v1/replication/status' });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      region: HERE,
      quarantined: 0,
      openConflicts: 0,
      degrade: { degradedPeers: ['eu-west-1'] },
    });
  });

  it('keeps serving while drained: a core write claims its partition over the quorum and reads back with its token', async () => {
    const id = `lambda-${Date.now().toString(36)}`;
    const opened = await call({
      method: 'POST',
      path: `/v1/account/${id}/commands`,
      body: JSON.stringify({ type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } }),
    });
    expect(opened.status).toBe(200);
    const token = opened.headers['X-Consistency-Token'];
    expect(token).toMatch(/\.us-east-1~1~\d+~[0-9A-Z]{26}$/);
    const read = await call({
      method: 'GET',
      path: `/v1/account/${id}`,
      headers: { 'X-Consistency-Token': token as string },
    });
    expect(read.status).toBe(200);
    expect(read.body.state).toMatchObject({ opened: true, owner: 'Ada' });
  });
});
