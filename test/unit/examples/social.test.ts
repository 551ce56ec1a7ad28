import { describe, expect, it } from 'vitest';
import {
  checkSocial,
  PostNotPublished,
  post,
  reactions,
  type SocialWorkload,
  user,
} from '../../../examples/social/index.ts';
import { defineApp, inputOf, loadApplication } from '../../../lib/app/index.ts';
import type { AggregateDefinition, DomainEvent } from '../../../lib/model/index.ts';
import { parseCommand } from '../../../lib/model/index.ts';
import type { Operation, RegionSnapshot, StoredEvent } from '../../../lib/verify/index.ts';

/** given events, when a command, then the events it decides (or the error it throws). */
function given<S>(aggregate: AggregateDefinition<S>, history: DomainEvent[]) {
  const state = history.reduce((s, e) => aggregate.evolve(s, e), aggregate.initialState());
  return {
    state,
    when: (type: string, payload: Record<string, unknown>) =>
      aggregate.decide(parseCommand(aggregate, { type, payload }), state, { now: 0 }),
  };
}

const published: DomainEvent = { type: 'PostPublished', payload: { author: 'u1', text: 'hello' } };

describe('social deciders', () => {
  it('publishes a post, then its author edits it', () => {
    expect(given(post, []).when('Publish', { author: 'u1', text: 'hello' })).toEqual([published]);
    const edited = given(post, [published]).when('Edit', { text: 'hello, world' });
    expect(edited).toEqual([{ type: 'PostEdited', payload: { text: 'hello, world' } }]);
    expect(given(post, [published, ...edited]).state).toEqual({
      author: 'u1',
      text: 'hello, world',
      edits: 2,
    });
  });

  it('refuses an edit of a post it has not seen published', () => {
    expect(() => given(post, []).when('Edit', { text: 'x' })).toThrow(PostNotPublished);
  });

  it('counts reactions per kind, whatever their order', () => {
    const like = { type: 'Reacted', payload: { kind: 'like', by: 'a' } };
    const wow = { type: 'Reacted', payload: { kind: 'wow', by: 'b' } };
    const expected = { counts: { like: 2, wow: 1 }, total: 3 };
    expect(given(reactions, [like, wow, like]).state).toEqual(expected);
    expect(given(reactions, [wow, like, like]).state).toEqual(expected);
    expect(() => given(reactions, []).when('React', { kind: 'angry', by: 'a' })).toThrow();
  });

  it('registers a user with a country code, refusing one that is not ISO 3166 alpha-2', () => {
    expect(given(user, []).when('Register', { handle: 'ada', country: 'IE' })).toHaveLength(1);
    expect(() => given(user, []).when('Register', { handle: 'ada', country: 'Ireland' })).toThrow();
  });
});

describe('the social application config', () => {
  it('loads with its demo and chaos plug-in, two environments and no core tier', async () => {
    const app = await loadApplication('examples/social/multiactive.config.ts');
    expect(app.name).toBe('social');
    expect(app.chaos?.name).toBe('social');
    expect(app.demo?.opening('eu-west-1').length).toBeGreaterThan(0);
    expect(Object.keys(app.environments).sort()).toEqual(['dev', 'prod']);
    expect(app.topology('dev').aggregates.map((a) => a.tier)).not.toContain('core');
  });

  it('refuses a chaos plug-in without a checker, by its path', async () => {
    const app = await loadApplication('examples/social/multiactive.config.ts');
    const { check: _check, ...noChecker } = app.chaos!;
    expect(() => defineApp({ ...inputOf(app), chaos: noChecker as never })).toThrow(/chaos\.check/);
  });
});

// A run in two regions: member u1 with post p1; one acknowledged edit, two acknowledged reactions.
const workload: SocialWorkload = { members: [{ user: 'u1', post: 'p1', region: 'r1' }] };

function event(
  id: string,
  key: string,
  hlc: string,
  type: string,
  payload: Record<string, unknown>,
): StoredEvent {
  const [aggregateType, aggregateId] = key.split('/') as [string, string];
  return {
    eventId: id,
    aggregateType,
    aggregateId,
    partition: 0,
    seq: 0,
    epoch: 0,
    origin: 'r1',
    hlc,
    type,
    payload,
    core: false,
    prev: null,
    causationId: `op-${id}`,
  };
}

function op(
  id: string,
  key: string,
  f: Operation['f'],
  input: string,
  outcome: Operation['outcome'] = 'ok',
): Operation {
  return {
    id: 0,
    process: 'c',
    f,
    key,
    input,
    outcome,
    output: input,
    invokedAt: 0,
    completedAt: 1,
    eventIds: outcome === 'ok' ? [id] : [],
    opId: `op-${id}`,
  };
}

const events = [
  event('e1', 'user/u1', '01', 'UserRegistered', { handle: 'ada', country: 'IE' }),
  event('e2', 'post/p1', '02', 'PostPublished', { author: 'u1', text: 'hello' }),
  event('e3', 'post/p1', '03', 'PostEdited', { text: 'edited' }),
  event('e4', 'reactions/p1', '04', 'Reacted', { kind: 'like', by: 'c' }),
  event('e5', 'reactions/p1', '05', 'Reacted', { kind: 'wow', by: 'c' }),
];
const operations = [
  op('e1', 'user/u1', 'write', 'ada'),
  op('e2', 'post/p1', 'write', 'hello'),
  op('e3', 'post/p1', 'write', 'edited'),
  op('e4', 'reactions/p1', 'append', 'like'),
  op('e5', 'reactions/p1', 'append', 'wow'),
];
const rows = {
  'user#u1': { bio: null, country: 'IE', handle: 'ada' },
  'post#p1': { author: 'u1', edits: 2, text: 'edited' },
  'reactions#p1': { counts: { like: 1, wow: 1 }, total: 2 },
};

function region(
  name: string,
  change: { drop?: string; rows?: Record<string, unknown> } = {},
): RegionSnapshot {
  const all = { ...rows, ...change.rows };
  return {
    region: name,
    events: events.filter((e) => e.eventId !== change.drop),
    states: new Map(
      Object.entries(all).map(([k, s]) => [k, { version: 1, head: '05', state: JSON.stringify(s) }]),
    ),
    quarantine: [],
    parked: 0,
  };
}

const kinds = (regions: RegionSnapshot[], ops = operations) =>
  checkSocial({ workload, operations: ops, regions }).anomalies.map(
    (a) => `${a.kind} ${a.key}${a.region ? ` @${a.region}` : ''}`,
  );

describe('the social checker', () => {
  it('passes regions that converged on the highest-HLC edit and count every acknowledged reaction', () => {
    expect(kinds([region('r1'), region('r2')])).toEqual([]);
  });

  it('reports an acknowledged reaction lost in one region, its counter short and the regions diverged', () => {
    const short = region('r2', { drop: 'e5', rows: { 'reactions#p1': { counts: { like: 1 }, total: 1 } } });
    expect(kinds([region('r1'), short])).toEqual(
      expect.arrayContaining([
        'diverged-log reactions/p1',
        'diverged-state reactions/p1',
        'lost-write reactions/p1 @r2',
        'counter-out-of-bounds reactions/p1 @r2',
      ]),
    );
  });

  it('reports a region whose post holds an older edit than the highest-HLC one (lww resolved by arrival)', () => {
    const stale = region('r2', { rows: { 'post#p1': { author: 'u1', edits: 2, text: 'hello' } } });
    expect(kinds([region('r1'), stale])).toEqual(['diverged-state post/p1', 'lww-wrong-winner post/p1 @r2']);
  });

  it('reports a counter that disagrees with its log, and an event that no request sent', () => {
    const phantom = operations.filter((o) => o.opId !== 'op-e4');
    const wrong = { rows: { 'reactions#p1': { counts: { like: 1, wow: 1 }, total: 3 } } };
    expect(kinds([region('r1', wrong), region('r2', wrong)], phantom)).toEqual(
      expect.arrayContaining(['phantom-write reactions/p1 @r1', 'row-vs-log reactions/p1 @r1']),
    );
  });

  it('reports a refused request whose event landed anyway, and one request applied twice', () => {
    const refused = operations.map((o) =>
      o.opId === 'op-e3' ? { ...o, outcome: 'fail' as const, eventIds: [] } : o,
    );
    expect(kinds([region('r1'), region('r2')], refused)).toContain('phantom-write post/p1 @r1');
    const twice = { ...events[4]!, eventId: 'e6', hlc: '06' };
    const doubled = { ...region('r1'), events: [...events, twice] };
    const counted = { 'reactions#p1': { counts: { like: 1, wow: 2 }, total: 3 } };
    expect(kinds([{ ...doubled, states: region('r1', { rows: counted }).states }])).toContain(
      'duplicate-write reactions/p1 @r1',
    );
  });
});
