import type { Anomaly } from './anomaly.ts';
import { logOf } from './effects.ts';
import type { Operation } from './history.ts';
import type { LwwRegister } from './important-checker.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** What the read-your-writes checker found. */
export interface RywCheck {
  readonly anomalies: Anomaly[];
  /** Reads that carried a token. */
  readonly reads: number;
  /** Of those, answered 2xx and checked against the logs. */
  readonly checked: number;
  /** Answered with a clear 503 (or timed out): allowed, nothing to check. */
  readonly unavailable: number;
  /** Ok'd reads of a state only the manual queue holds (a branch lost with its region under `ack: local`). */
  readonly ofLostBranch: number;
}

interface Context {
  readonly key: string;
  readonly read: Operation;
  readonly write: Operation;
  readonly regions: readonly RegionSnapshot[];
  readonly report: (kind: string, message: string) => void;
}

const label = (op: Operation) => `op ${op.opId ?? op.id} ${op.f}${op.input === null ? '' : ` ${op.input}`}`;

/** The account's balance after the first `version` events of a log. */
function balanceAt(log: readonly StoredEvent[], version: number): number {
  let balance = 0;
  for (const event of log.slice(0, version)) {
    const amount = Number(event.payload.amount ?? 0);
    if (event.type === 'Deposited') balance += amount;
    if (event.type === 'Withdrawn') balance -= amount;
  }
  return balance;
}

/**
 * A core read (account): the answered (version, head) must be a state of a final log (or of a branch
 * the manual queue keeps), that state must include the write, and its balance must be that log's fold.
 */
function checkCoreRead(ctx: Context): 'checked' | 'lost-branch' {
  const { read, write, report } = ctx;
  const written = write.written?.[0];
  const version = read.version ?? 0;
  if (!written) return 'checked';
  if (version < written.seq) {
    report(
      'ryw-violation',
      `${label(read)} answered v${version}, before ${label(write)} at seq ${written.seq}`,
    );
    return 'checked';
  }
  const logs = ctx.regions.map((r) => logOf(r, ctx.key));
  const log = logs.find((l) => l[version - 1]?.hlc === read.head);
  if (!log) {
    const queued = ctx.regions.flatMap((r) => (r.conflicts ?? []).flatMap((c) => c.events));
    if (queued.some((e) => e.hlc === read.head)) return 'lost-branch';
    report(
      'read-unexplained',
      `${label(read)} answered v${version} head ${read.head} balance ${read.output}: no region's log or manual queue has that state`,
    );
    return 'checked';
  }
  const atSeq = log[written.seq - 1];
  if (atSeq?.eventId !== written.eventId)
    report(
      'ryw-violation',
      `${label(read)} with the token of ${label(write)} (event ${written.eventId} at seq ${written.seq}) answered v${version} of a branch holding ${atSeq?.eventId ?? 'nothing'} at that seq`,
    );
  const expected = balanceAt(log, version);
  if (read.output !== expected)
    report(
      'read-mismatch',
      `${label(read)} answered balance ${read.output} at v${version}, the log's fold there is ${expected}`,
    );
  return 'checked';
}

/** A read of an lww register: the value is the write's own or one written with a higher HLC. */
function checkRegisterRead(ctx: Context, register: LwwRegister): 'checked' {
  const { read, write, report } = ctx;
  const written = write.written?.[0];
  if (!written || read.output === write.input) return 'checked';
  const events = ctx.regions.flatMap((r) => logOf(r, ctx.key));
  const source = events.find(
    (e) => e.type === register.eventType && e.payload[register.field] === read.output,
  );
  if (!source || source.hlc <= written.hlc)
    report(
      'ryw-violation',
      `${label(read)} with the token of ${label(write)} (hlc ${written.hlc}) answered ${JSON.stringify(read.output)}, ${source ? `written earlier (hlc ${source.hlc})` : 'which no logged write set'}`,
    );
  return 'checked';
}

type Verdict = 'checked' | 'lost-branch' | 'unavailable' | 'refused';

/** One read that carried a token: a clear 503, a refusal, or a state checked against the logs. */
function checkRead(
  read: Operation,
  input: {
    key: string;
    byOpId: ReadonlyMap<string, Operation>;
    regions: readonly RegionSnapshot[];
    register?: LwwRegister;
  },
  anomalies: Anomaly[],
): Verdict {
  const report = (kind: string, message: string) =>
    anomalies.push({
      checker: 'ryw',
      kind,
      key: input.key,
      ...(read.region ? { region: read.region } : {}),
      message,
    });
  if (read.outcome === 'info') return 'unavailable';
  const write = read.after ? input.byOpId.get(read.after) : undefined;
  if (read.outcome === 'fail' || !write) {
    report('ryw-refused', `${label(read)} with a token of ${read.after ?? '?'} was refused: ${read.error}`);
    return 'refused';
  }
  const ctx: Context = { key: input.key, read, write, regions: input.regions, report };
  return input.register ? checkRegisterRead(ctx, input.register) : checkCoreRead(ctx);
}

/**
 * Read-your-writes: every read carrying a client's token (of its own earlier write to the key) returns a
 * state that includes that write, or a clear 503 (`info`). A refusal (4xx) of a read with a valid token
 * is an anomaly too (`NotFound`: the region claimed to cover a write it does not hold).
 */
export function checkReadYourWrites(input: {
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  readonly regions: readonly RegionSnapshot[];
  readonly registers: readonly LwwRegister[];
}): RywCheck {
  const anomalies: Anomaly[] = [];
  const verdicts: Verdict[] = [];
  for (const [key, ops] of input.operations) {
    const byOpId = new Map(ops.flatMap((op) => (op.opId ? [[op.opId, op] as const] : [])));
    const register = input.registers.find((r) => key.startsWith(`${r.aggregateType}/`));
    const context = { key, byOpId, regions: input.regions, ...(register ? { register } : {}) };
    for (const read of ops)
      if (read.f === 'read' && read.token) verdicts.push(checkRead(read, context, anomalies));
  }
  const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
  return {
    anomalies,
    reads: verdicts.length,
    checked: count('checked'),
    unavailable: count('unavailable'),
    ofLostBranch: count('lost-branch'),
  };
}
