import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../../lib/api/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { httpEvent, lambdaContext } from '../../support/http.ts';
import { type Cell, makeCell, REGIONS, testAggregates, testTopology } from './cells.ts';

let cells: Cell[];
let feed: (type: string, id: string) => Promise<{ status: number; body: Record<string, unknown> }>;

beforeAll(async () => {
  const list: Cell[] = [];
  for (const region of REGIONS.slice(0, 2)) list.push(await makeCell(region, { peers: () => list }));
  cells = list;
  const topology = testTopology();
  const here = cells[0]!;
  const handler = createApiHandler({
    registry: createRegistry(testAggregates, topology),
    events: here.events,
    states: here.states,
    clock: here.clock,
    region: here.region,
    partitions: topology.partitions,
    conflicts: here.conflicts,
  });
  feed = async (type, id) => {
    const event = httpEvent({ method: 'GET', path: `/v1/${type}/${id}/conflicts` });
    const result = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
    return {
      status: result.statusCode ?? 0,
      body: JSON.parse(String(result.body)) as Record<string, unknown>,
    };
  };
});

/** Both regions set the display name before hearing of each other, then exchange their events. */
async function concurrentNames(type: string, id: string) {
  const set = (displayName: string) => ({ type: 'SetDisplayName', payload: { displayName } });
  const [a, b] = cells as [Cell, Cell];
  const first = await a.execute({ aggregateType: type, aggregateId: id, command: set('from-a') });
  const second = await b.execute({ aggregateType: type, aggregateId: id, command: set('from-b') });
  for (const event of first.events) await b.apply(event);
  for (const event of second.events) await a.apply(event);
  return { a: first.events[0]!, b: second.events[0]! };
}

describe('the conflict feed (GET /v1/{type}/{id}/conflicts)', () => {
  it('lists an lww loser as resolved, for audit, naming winner and loser; the open list stays for manual', async () => {
    const { a, b } = await concurrentNames('profile', 'feed-lww');
    const [winner, loser] = a.hlc > b.hlc ? [a, b] : [b, a];

    const answer = await feed('profile', 'feed-lww');

    expect(answer.status).toBe(200);
    expect(answer.body.conflicts).toEqual([
      expect.objectContaining({
        policy: 'lww',
        status: 'resolved',
        winner: winner.eventId,
        loser: loser.eventId,
        resolvedBy: winner.eventId,
        eventIds: [a.eventId, b.eventId].sort(),
      }),
    ]);
    // `conflicts list` and the open count see manual conflicts only; nothing froze.
    expect(await cells[0]!.conflicts.listOpen()).toEqual([]);
    expect(await cells[0]!.conflicts.countOpen()).toBe(0);
    expect((await cells[0]!.states.getState('profile', 'feed-lww'))?.frozen).toBe(false);
  });

  it('lists open manual conflicts as before, with their policy', async () => {
    await concurrentNames('profile-manual', 'feed-manual');
    await concurrentNames('profile', 'feed-manual'); // another aggregate type with the same id: not listed

    const answer = await feed('profile-manual', 'feed-manual');

    expect(answer.body.conflicts).toEqual([expect.objectContaining({ policy: 'manual', status: 'open' })]);
    expect(await cells[0]!.conflicts.countOpen()).toBe(1);
    expect((await cells[0]!.states.getState('profile-manual', 'feed-manual'))?.frozen).toBe(true);
  });

  it('answers 404 for an unknown aggregate type', async () => {
    expect((await feed('nope', 'x')).status).toBe(404);
  });
});
