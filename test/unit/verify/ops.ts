import type { Operation, OperationName, RegionSnapshot, StoredEvent } from '../../../lib/verify/index.ts';

let next = 0;

/** A hand-written operation: [from, to] in ms; `to` Infinity for an info op. */
export function op(
  f: OperationName,
  input: number | string | null,
  window: [number, number],
  result: { output?: number | string | null; error?: string; eventIds?: string[]; key?: string } = {},
): Operation {
  const outcome = !Number.isFinite(window[1]) ? 'info' : result.error ? 'fail' : 'ok';
  return {
    id: next++,
    process: `p${next}`,
    f,
    key: result.key ?? 'account/a1',
    input,
    outcome,
    output: result.output ?? null,
    invokedAt: window[0],
    completedAt: window[1],
    eventIds: result.eventIds ?? [],
    ...(result.error ? { error: result.error } : {}),
  };
}

/** A stored core account event. */
export function accountEvent(
  seq: number,
  type: string,
  amount: number,
  extra: Partial<StoredEvent> = {},
): StoredEvent {
  return {
    eventId: `e${seq}`,
    aggregateType: 'account',
    aggregateId: 'a1',
    partition: 7,
    seq,
    epoch: 1,
    origin: 'us-east-1',
    hlc: `h${seq}`,
    prev: seq === 1 ? null : `h${seq - 1}`,
    type,
    payload: type === 'AccountOpened' ? { owner: 'o', currency: 'EUR' } : { amount },
    core: true,
    ...extra,
  };
}

/** A region snapshot with the given events and rows. */
export function snapshot(
  region: string,
  events: StoredEvent[],
  rows: Record<string, object> = {},
): RegionSnapshot {
  return {
    region,
    events,
    states: new Map(
      Object.entries(rows).map(([k, v]) => [
        k,
        { version: (v as { v?: number }).v ?? 0, head: 'h', state: JSON.stringify(v) },
      ]),
    ),
    quarantine: [],
    parked: 0,
    queued: [],
  };
}
