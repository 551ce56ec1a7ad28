import type { ChaosCheckInput, ChaosCheckResult } from '../../../lib/sandbox/chaos/plugin.ts';
import type { Anomaly, Operation, RegionSnapshot, StoredEvent } from '../../../lib/verify/index.ts';
import type { SocialWorkload } from './workload.ts';

const CHECKER = 'social';

/** The events that set a register (`field` of the state), per aggregate type. */
const REGISTERS: Readonly<Record<string, { events: readonly string[]; field: string; from: string }>> = {
  post: { events: ['PostPublished', 'PostEdited'], field: 'text', from: 'text' },
  user: { events: ['BioSet'], field: 'bio', from: 'bio' },
};

/** HLC order, ties by origin then event id: the order the platform's lww resolution picks a winner in. */
const byHlc = (a: StoredEvent, b: StoredEvent) =>
  a.hlc.localeCompare(b.hlc) || a.origin.localeCompare(b.origin) || a.eventId.localeCompare(b.eventId);

/** A region's log of `key` (`type/id`), each event once, in HLC order. */
function logOf(region: RegionSnapshot, key: string): StoredEvent[] {
  const [type, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
  const unique = new Map<string, StoredEvent>();
  for (const e of region.events)
    if (e.aggregateType === type && e.aggregateId === id && !unique.has(e.eventId)) unique.set(e.eventId, e);
  return [...unique.values()].sort(byHlc);
}

function stateOf(region: RegionSnapshot, key: string): Record<string, unknown> | undefined {
  const row = region.states.get(key.replace('/', '#'));
  return row ? (JSON.parse(row.state) as Record<string, unknown>) : undefined;
}

/** Every region holds the same events and the same row for `key`. */
function converged(regions: readonly RegionSnapshot[], key: string): Anomaly[] {
  const logs = regions.map((r) =>
    logOf(r, key)
      .map((e) => e.eventId)
      .sort()
      .join(','),
  );
  const rows = regions.map((r) => JSON.stringify(stateOf(r, key) ?? null));
  const out: Anomaly[] = [];
  const describe = (values: string[]) => regions.map((r, i) => `${r.region}: ${values[i]}`).join(' | ');
  if (logs.some((l) => l !== logs[0]))
    out.push({
      checker: CHECKER,
      kind: 'diverged-log',
      key,
      message: `events differ: ${describe(logs.map((l) => `${l.split(',').length} events`))}`,
    });
  if (rows.some((r) => r !== rows[0]))
    out.push({ checker: CHECKER, kind: 'diverged-state', key, message: describe(rows) });
  return out;
}

/**
 * Last writer wins, in every region: the register holds the value of its highest-HLC event, and a post
 * counts one edit per text event of its log.
 */
function lwwHolds(region: RegionSnapshot, key: string, type: string): Anomaly[] {
  const register = REGISTERS[type];
  const state = stateOf(region, key);
  if (!register || !state) return [];
  const writes = logOf(region, key).filter((e) => register.events.includes(e.type));
  const winner = writes.at(-1);
  const out: Anomaly[] = [];
  if (winner && state[register.field] !== winner.payload[register.from])
    out.push({
      checker: CHECKER,
      kind: 'lww-wrong-winner',
      key,
      region: region.region,
      message: `${register.field} is ${JSON.stringify(state[register.field])}, but the highest-HLC write (${winner.hlc} from ${winner.origin}) set ${JSON.stringify(winner.payload[register.from])}`,
    });
  if (type === 'post' && state.edits !== writes.length)
    out.push({
      checker: CHECKER,
      kind: 'row-vs-log',
      key,
      region: region.region,
      message: `edits ${String(state.edits)}, text events in the log ${writes.length}`,
    });
  return out;
}

/** Reactions: the row counts every event of the log, and lies between the acknowledged and the attempted. */
function countersHold(region: RegionSnapshot, key: string, ops: readonly Operation[]): Anomaly[] {
  const state = stateOf(region, key) as { counts?: Record<string, number>; total?: number } | undefined;
  const log = logOf(region, key).filter((e) => e.type === 'Reacted');
  const total = state?.total ?? 0;
  const out: Anomaly[] = [];
  const at = { checker: CHECKER, key, region: region.region };
  if (total !== log.length)
    out.push({
      ...at,
      kind: 'row-vs-log',
      message: `total ${total}, Reacted events in the log ${log.length}`,
    });
  for (const kind of new Set([
    ...Object.keys(state?.counts ?? {}),
    ...log.map((e) => String(e.payload.kind)),
  ])) {
    const logged = log.filter((e) => e.payload.kind === kind).length;
    if ((state?.counts?.[kind] ?? 0) !== logged)
      out.push({
        ...at,
        kind: 'row-vs-log',
        message: `${kind} ${state?.counts?.[kind] ?? 0}, ${kind} events ${logged}`,
      });
  }
  const acked = ops.filter((o) => o.f === 'append' && o.outcome === 'ok').length;
  const unknown = ops.filter((o) => o.f === 'append' && o.outcome === 'info').length;
  if (total < acked || total > acked + unknown)
    out.push({
      ...at,
      kind: 'counter-out-of-bounds',
      message: `total ${total}, acknowledged reactions ${acked}, indeterminate ${unknown}`,
    });
  return out;
}

/** Every event is the effect of one request that may have landed (ok or indeterminate), with its value. */
function traced(region: RegionSnapshot, key: string, ops: readonly Operation[]): Anomaly[] {
  const byOp = new Map(ops.filter((o) => o.opId).map((o) => [o.opId as string, o]));
  const at = { checker: CHECKER, key, region: region.region };
  return logOf(region, key).flatMap((event): Anomaly[] => {
    const op = event.causationId ? byOp.get(event.causationId) : undefined;
    if (!op || op.outcome === 'fail')
      return [
        {
          ...at,
          kind: 'phantom-write',
          message: `event ${event.eventId} (${event.type}) traced to ${op ? 'a refused' : 'no'} request (${event.causationId ?? 'no causationId'})`,
        },
      ];
    if (op.input !== null && !Object.values(event.payload).includes(op.input))
      return [
        {
          ...at,
          kind: 'wrong-value',
          message: `event ${event.eventId} carries ${JSON.stringify(event.payload)}, its request sent ${JSON.stringify(op.input)}`,
        },
      ];
    return [];
  });
}

/**
 * Exactly once: no request wrote two events (its idempotency key is honoured), and every acknowledged
 * request's event is in the log (it may have lost to a later write under lww, never vanished).
 */
function onceEach(region: RegionSnapshot, key: string, ops: readonly Operation[]): Anomaly[] {
  const log = logOf(region, key);
  const at = { checker: CHECKER, key, region: region.region };
  const out: Anomaly[] = [];
  const seen = new Map<string, number>();
  for (const event of log)
    seen.set(String(event.causationId), (seen.get(String(event.causationId)) ?? 0) + 1);
  for (const [opId, n] of seen)
    if (n > 1)
      out.push({
        ...at,
        kind: 'duplicate-write',
        message: `request ${opId} wrote ${n} events (its idempotency key was not honoured)`,
      });
  const logged = new Set(log.map((e) => e.eventId));
  for (const op of ops)
    for (const id of op.outcome === 'ok' ? op.eventIds : [])
      if (!logged.has(id))
        out.push({
          ...at,
          kind: 'lost-write',
          message: `acknowledged ${op.f} ${JSON.stringify(op.input)} (event ${id}, ${op.process}) is not in the log`,
        });
  return out;
}

/**
 * The social app's invariants after heal, on the final state of every region: every user, post and
 * reaction counter converged; lww picked the highest-HLC edit everywhere; no acknowledged edit or
 * reaction lost, none applied twice, none from nowhere; counters equal their logs and lie between the
 * acknowledged reactions and those whose outcome the client never learnt. In a chaos run every region
 * comes back (revived, failed back, its orphans merged), so even the ordinary tier, which a region lost
 * for good may lose (its declared RPO), must keep every acknowledged reaction.
 */
export function checkSocial(input: ChaosCheckInput<SocialWorkload>): ChaosCheckResult {
  const { workload, operations, regions } = input;
  const keys = workload.members.flatMap((m) => [`user/${m.user}`, `post/${m.post}`, `reactions/${m.post}`]);
  const anomalies: Anomaly[] = [];
  for (const key of keys) {
    const type = key.slice(0, key.indexOf('/'));
    const ops = operations.filter((o) => o.key === key);
    anomalies.push(...converged(regions, key));
    for (const region of regions) {
      anomalies.push(...traced(region, key, ops), ...onceEach(region, key, ops));
      anomalies.push(
        ...(type === 'reactions' ? countersHold(region, key, ops) : lwwHolds(region, key, type)),
      );
    }
  }
  const first = regions[0];
  const edits = operations.filter((o) => o.key.startsWith('post/') && o.f === 'write' && o.outcome === 'ok');
  const winners = new Set(
    first
      ? workload.members.flatMap((m) => {
          const last = logOf(first, `post/${m.post}`).at(-1);
          return last ? [last.eventId] : [];
        })
      : [],
  );
  return {
    anomalies,
    figures: {
      'aggregates checked': keys.length,
      'post edits acknowledged': edits.length,
      'acknowledged edits superseded under lww': edits.filter(
        (o) => !o.eventIds.some((id) => winners.has(id)),
      ).length,
      'reactions acknowledged': operations.filter((o) => o.f === 'append' && o.outcome === 'ok').length,
      'reactions indeterminate': operations.filter((o) => o.f === 'append' && o.outcome === 'info').length,
    },
  };
}
