import type {
  Operation,
  OperationName,
  RegionSnapshot,
  StoredConflict,
  StoredEvent,
  WrittenEvent,
} from '../../../lib/verify/index.ts';

let next = 0;

/** A hand-written operation: [from, to] in ms; `to` Infinity for an info op. */
export function op(
  f: OperationName,
  input: number | string | null,
  window: [number, number],
  result: {
    output?: number | string | null;
    error?: string;
    eventIds?: string[];
    key?: string;
    opId?: string;
    written?: WrittenEvent[];
    token?: string;
    after?: string;
    version?: number;
    head?: string | null;
  } = {},
): Operation {
  const outcome = !Number.isFinite(window[1]) ? 'info' : result.error ? 'fail' : 'ok';
  const id = next++;
  const { output, error, eventIds, key, opId, ...rest } = result;
  return {
    id,
    process: `p${id}`,
    f,
    key: key ?? 'account/a1',
    input,
    outcome,
    output: output ?? null,
    invokedAt: window[0],
    completedAt: window[1],
    eventIds: eventIds ?? rest.written?.map((w) => w.eventId) ?? [],
    opId: opId ?? `op${id}`,
    ...(error ? { error } : {}),
    ...rest,
  };
}

/** A stored core account event: `e<seq>`, hlc `h<seq>`, chained to `h<seq-1>`, caused by op `o<seq>`. */
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
    prev: seq > 1 ? `h${seq - 1}` : null,
    causationId: `o${seq}`,
    type,
    payload: type === 'AccountOpened' ? { owner: 'o', currency: 'EUR' } : { amount },
    core: true,
    ...extra,
  };
}

/** A region snapshot with the given events, rows (`v` = version, `head` default `h<v>`) and conflicts. */
export function snapshot(
  region: string,
  events: StoredEvent[],
  rows: Record<string, object> = {},
  conflicts: StoredConflict[] = [],
): RegionSnapshot {
  return {
    region,
    events,
    states: new Map(
      Object.entries(rows).map(([k, v]) => {
        const { v: version = 0, head, ...state } = v as { v?: number; head?: string };
        return [k, { version, head: head ?? `h${version}`, state: JSON.stringify(state) }];
      }),
    ),
    quarantine: [],
    parked: 0,
    conflicts,
  };
}
