import { describe, expect, it } from 'vitest';
import { checkSocial, post, reactions, user } from '../../../examples/social/index.ts';
import { parseTopology } from '../../../lib/config/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { type Operation, readSnapshot } from '../../../lib/verify/index.ts';
import { type Cell, makeCell, uniqueId } from '../replication/cells.ts';

const topology = parseTopology({
  name: 'social-test',
  account: '333333333333',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
  aggregates: [
    { type: 'user', tier: 'important', conflict: 'lww' },
    { type: 'post', tier: 'important', conflict: 'lww' },
    { type: 'reactions', tier: 'ordinary' },
  ],
});

async function twoRegions(): Promise<[Cell, Cell]> {
  const cells: Cell[] = [];
  const options = { topology, aggregates: [user, post, reactions], peers: () => cells };
  cells.push(await makeCell('us-east-1', options), await makeCell('eu-west-1', options));
  return [cells[0]!, cells[1]!];
}

/**
 * An author edits one post from two regions before either edit replicates: the second edit (higher HLC)
 * must win everywhere. East's older edit reaches west after west's newer one: out of HLC order.
 */
async function concurrentEdits() {
  const [east, west] = await twoRegions();
  const id = uniqueId('post');
  const member = { user: `u-${id}`, post: id, region: 'us-east-1' };
  const operations: Operation[] = [];
  /** Executes a command in `cell` as a client's acknowledged request `opId` sending `input`. */
  const write = async (
    cell: Cell,
    request: { key: string; opId: string; input: string; type: string; payload: Record<string, unknown> },
  ) => {
    const { key, opId, input, type, payload } = request;
    const [aggregateType, aggregateId] = key.split('/') as [string, string];
    const { events } = await cell.execute({
      aggregateType,
      aggregateId,
      command: { type, payload },
      causationId: opId,
    });
    const f = type === 'React' ? 'append' : 'write';
    operations.push({
      id: operations.length,
      process: cell.region,
      f,
      key,
      input,
      outcome: 'ok',
      output: input,
      invokedAt: 0,
      completedAt: 1,
      eventIds: events.map((e) => e.eventId),
      opId,
    });
    return events;
  };
  const toBoth = async (events: EventEnvelope[], to: Cell) => {
    for (const e of events) await to.apply(structuredClone(e));
  };
  const [userKey, postKey] = [`user/${member.user}`, `post/${id}`];
  await toBoth(
    await write(east, {
      key: userKey,
      opId: 'op-register',
      input: 'ada',
      type: 'Register',
      payload: { handle: 'ada', country: 'US' },
    }),
    west,
  );
  await toBoth(
    await write(east, {
      key: postKey,
      opId: 'op-publish',
      input: 'hello',
      type: 'Publish',
      payload: { author: member.user, text: 'hello' },
    }),
    west,
  );
  await toBoth(
    await write(west, {
      key: `reactions/${id}`,
      opId: 'op-react',
      input: 'like',
      type: 'React',
      payload: { kind: 'like', by: 'b' },
    }),
    east,
  );
  const older = await write(east, {
    key: postKey,
    opId: 'op-edit-east',
    input: 'from east',
    type: 'Edit',
    payload: { text: 'from east' },
  });
  await new Promise((r) => setTimeout(r, 5));
  const newer = await write(west, {
    key: postKey,
    opId: 'op-edit-west',
    input: 'from west',
    type: 'Edit',
    payload: { text: 'from west' },
  });
  expect(newer[0]!.hlc > older[0]!.hlc).toBe(true);
  return {
    east,
    west,
    member,
    operations,
    deliver: async () => {
      await toBoth(newer, east);
      await toBoth(older, west);
    },
  };
}

async function check(run: Awaited<ReturnType<typeof concurrentEdits>>) {
  const regions = await Promise.all(
    [run.east, run.west].map((c) => readSnapshot({ region: c.region, doc: c.db.doc, tables: c.db.tables })),
  );
  return checkSocial({ workload: { members: [run.member] }, operations: run.operations, regions });
}

describe('the social checker on real stores and the real applier', () => {
  it('passes when concurrent edits of a post converge on the higher-HLC one in every region', async () => {
    const run = await concurrentEdits();
    await run.deliver();
    const result = await check(run);
    expect(result.anomalies).toEqual([]);
    expect(result.figures?.['acknowledged edits superseded under lww']).toBe(2);
  });

  it('reports the region that folded the older edit last when the build folds in arrival order (fold-on-arrival)', async () => {
    const run = await concurrentEdits();
    await withBug('fold-on-arrival', run.deliver);
    const kinds = (await check(run)).anomalies.map((a) => `${a.kind} ${a.region ?? ''}`.trim());
    expect(kinds).toEqual(expect.arrayContaining(['diverged-state', 'lww-wrong-winner eu-west-1']));
  });
});
