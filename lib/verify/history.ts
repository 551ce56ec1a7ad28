/** The kind of a history event, as in Jepsen: an invocation and its completion (ok, fail or info). */
export const EVENT_TYPES = { invoke: 'invoke', ok: 'ok', fail: 'fail', info: 'info' } as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/**
 * The operations the chaos clients perform: account ops (core), register ops (important), transfers, and
 * `append` (an entry added to an ordinary-tier aggregate, e.g. a reaction, by an application's chaos plug-in).
 */
export type OperationName = 'open' | 'deposit' | 'withdraw' | 'write' | 'read' | 'transfer' | 'append';

/** One line of a history: a client invoked an operation, or learnt its outcome. */
export interface HistoryEvent {
  /** Position in the history (assigned by the recorder). */
  readonly index: number;
  /** The client (one operation in flight per client). */
  readonly process: string;
  readonly type: EventType;
  readonly f: OperationName;
  /** `account/<id>` or `profile/<id>`: histories are checked per key. */
  readonly key: string;
  /** The argument (amount, value) on invoke; the result (balance after, value read) on ok. */
  readonly value: number | string | null;
  /** Monotonic ms (performance.now()) when the event happened. */
  readonly time: number;
  /** Error code on fail / info (`InsufficientFunds`, `503 PeerUnavailable`, `TimeoutError`). */
  readonly error?: string;
  /** Region that answered (ok / fail). */
  readonly region?: string;
  /** Event ids written by an ok'd command. */
  readonly eventIds?: readonly string[];
  /** The events an ok'd command reported (seq and HLC as the writer stamped them). */
  readonly written?: readonly WrittenEvent[];
  /** On invoke: the operation id the command carries (its idempotency key, stored as each event's causationId). */
  readonly opId?: string;
  /** Write ok: the X-Consistency-Token returned. Read invoke: the token sent. */
  readonly token?: string;
  /** Read invoke: the opId of the write whose token the read sends. */
  readonly after?: string;
  /** Read ok: the state's version and head as answered. */
  readonly version?: number;
  readonly head?: string | null;
}

/** An event as the writer reported it in its answer. */
export interface WrittenEvent {
  readonly eventId: string;
  readonly seq: number;
  readonly hlc: string;
}

/** An invocation paired with its completion; an `info` operation never completes (completedAt = Infinity). */
export interface Operation {
  readonly id: number;
  readonly process: string;
  readonly f: OperationName;
  readonly key: string;
  readonly input: number | string | null;
  readonly outcome: 'ok' | 'fail' | 'info';
  readonly output: number | string | null;
  readonly invokedAt: number;
  readonly completedAt: number;
  readonly error?: string;
  readonly region?: string;
  readonly eventIds: readonly string[];
  /** See HistoryEvent: the op id carried in the command, tokens, the read's version/head, written events. */
  readonly opId?: string;
  readonly token?: string;
  readonly after?: string;
  readonly version?: number;
  readonly head?: string | null;
  readonly written?: readonly WrittenEvent[];
}

/** Appends events to a history; one recorder per run, shared by every client. */
export class HistoryRecorder {
  private readonly list: HistoryEvent[] = [];
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** Records an event (index and time are filled in). */
  record(event: Omit<HistoryEvent, 'index' | 'time'>): HistoryEvent {
    const full: HistoryEvent = { ...event, index: this.list.length, time: this.now() };
    this.list.push(full);
    return full;
  }

  /** Every event so far. */
  events(): readonly HistoryEvent[] {
    return this.list;
  }
}

/** The token (sent by a read, returned to a write) and what an ok'd read answered. */
function optionalResult(call: HistoryEvent, end: HistoryEvent | undefined) {
  const token = call.token ?? end?.token;
  return {
    ...(token === undefined ? {} : { token }),
    ...(end?.version === undefined ? {} : { version: end.version }),
    ...(end?.head === undefined ? {} : { head: end.head }),
    ...(end?.written === undefined ? {} : { written: end.written }),
  };
}

/**
 * Pairs each invoke with the next completion of the same process. An invoke left without one (the run
 * ended while it was in flight) is `info`: it may or may not have taken effect.
 */
export function pairOperations(history: readonly HistoryEvent[]): Operation[] {
  const open = new Map<string, HistoryEvent>();
  const done: Operation[] = [];
  const finish = (call: HistoryEvent, end: HistoryEvent | undefined) => {
    const outcome = end?.type === 'ok' || end?.type === 'fail' ? end.type : 'info';
    done.push({
      id: call.index,
      process: call.process,
      f: call.f,
      key: call.key,
      input: call.value,
      outcome,
      output: outcome === 'ok' ? (end?.value ?? null) : null,
      invokedAt: call.time,
      completedAt: outcome === 'info' ? Number.POSITIVE_INFINITY : (end?.time ?? Number.POSITIVE_INFINITY),
      eventIds: end?.eventIds ?? [],
      ...(end?.error === undefined ? {} : { error: end.error }),
      ...(end?.region === undefined ? {} : { region: end.region }),
      ...(call.opId === undefined ? {} : { opId: call.opId }),
      ...(call.after === undefined ? {} : { after: call.after }),
      ...optionalResult(call, outcome === 'ok' ? end : undefined),
    });
  };
  for (const event of history) {
    if (event.type === 'invoke') {
      const previous = open.get(event.process);
      if (previous) finish(previous, undefined);
      open.set(event.process, event);
      continue;
    }
    const call = open.get(event.process);
    if (!call) continue;
    open.delete(event.process);
    finish(call, event);
  }
  for (const call of open.values()) finish(call, undefined);
  return done.sort((a, b) => a.id - b.id);
}

/** Operations grouped by key, in invocation order. */
export function byKey(operations: readonly Operation[]): Map<string, Operation[]> {
  const groups = new Map<string, Operation[]>();
  for (const op of operations) {
    const list = groups.get(op.key) ?? [];
    list.push(op);
    groups.set(op.key, list);
  }
  return groups;
}
