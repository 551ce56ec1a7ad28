import type { Anomaly } from './anomaly.ts';
import { type AckMode, type Effects, logOf, mapEffects, opKeyOf, type RegionLoss } from './effects.ts';
import type { Operation } from './history.ts';
import { checkLinearizable } from './linearizable.ts';
import { accountModel } from './models.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** The linearizability verdict of one account; `undecided` (search bound hit) is a failure, not a pass. */
export interface AccountVerdict {
  readonly key: string;
  readonly verdict: 'linearizable' | 'not-linearizable' | 'undecided';
  /** Operations searched (ok, informative refusals, info ops that took effect). */
  readonly operations: number;
  readonly explored: number;
  /** Info ops whose event is in the final logs (placed, bounded by the next acknowledged event). */
  readonly infoTookEffect: number;
  /** Info ops with no event anywhere (they never took effect: left out). */
  readonly infoNoEffect: number;
  /** Ops whose write ended in the manual queue under `ack: local` (left out, counted). */
  readonly orphaned: number;
  /** Refusals decided on a branch lost with its region under `ack: local` (left out, counted). */
  readonly refusalsOnLostBranch: number;
  /** Refusals a new home gave before a lost home's late writes reached it, under `ack: local` (left out, counted). */
  readonly refusalsWithoutLateWrites: number;
}

/** What the core-tier checker found, per run. */
export interface CoreCheck {
  readonly anomalies: Anomaly[];
  readonly accounts: number;
  readonly linearizable: number;
  readonly undecided: number;
  readonly explored: number;
  readonly verdicts: AccountVerdict[];
  /** Ok'd writes lost with their region under `ack: local` and queued for an operator (documented, not anomalies). */
  readonly orphanedAcknowledged: number;
}

/** `account/<id>` -> the id. */
const idOf = (key: string) => key.slice(key.indexOf('/') + 1);

/** Folds one region's log of an account in seq order: negative balances, and the row against the fold. */
function checkFold(key: string, region: RegionSnapshot, log: readonly StoredEvent[]): Anomaly[] {
  const found: Anomaly[] = [];
  const at = (kind: string, message: string) =>
    found.push({ checker: 'core', kind, key, region: region.region, message });
  let balance = 0;
  for (const event of log) {
    const amount = Number(event.payload.amount ?? 0);
    if (event.type === 'Deposited') balance += amount;
    if (event.type === 'Withdrawn') balance -= amount;
    if (balance < 0) at('negative-balance', `balance ${balance} after seq ${event.seq} (${event.eventId})`);
  }
  const row = region.states.get(`account#${idOf(key)}`);
  const last = log.at(-1);
  if (!last) {
    if (row) at('state-mismatch', `row v${row.version} exists, but the log is empty`);
    return found;
  }
  const state = row ? (JSON.parse(row.state) as { balance?: number }) : undefined;
  if (!row || state?.balance !== balance || row.version !== last.seq || row.head !== last.hlc)
    at(
      'state-mismatch',
      `row ${row ? `v${row.version} head ${row.head} balance ${state?.balance}` : 'missing'}, fold of the log v${last.seq} head ${last.hlc} balance ${balance}`,
    );
  return found;
}

/**
 * The history the search decides, given where each op took effect. An info op whose event is in the
 * final logs took effect: it is placed, and its window ends when the first ok'd op whose event follows
 * it in the log completed (that op's writer had folded it, so it took effect before). An info op with no
 * event anywhere never took effect and is left out; so are ops whose write went to the manual queue
 * (ack local) and reads (checked by the read-your-writes checker).
 */
export function resolveHistory(
  ops: readonly Operation[],
  effects: Effects,
  regionLosses: readonly RegionLoss[] = [],
  ackMode?: AckMode,
) {
  const seqOf = (op: Operation) => effects.happened.get(opKeyOf(op))?.seq;
  const queued = (op: Operation) => effects.queued.has(opKeyOf(op));
  const onLostBranch = refusedOnLostBranch(effects, regionLosses);
  const withoutLateWrites =
    ackMode === 'local' ? refusedWithoutLateWrites(ops, effects, regionLosses) : () => false;
  const acked = ops
    .filter((op) => op.outcome === 'ok' && op.f !== 'read' && !queued(op))
    .map((op) => ({ seq: seqOf(op), completedAt: op.completedAt }))
    .filter((a): a is { seq: number; completedAt: number } => a.seq !== undefined);
  const kept: Operation[] = [];
  let infoTookEffect = 0;
  let infoNoEffect = 0;
  let orphaned = 0;
  let refusalsOnLostBranch = 0;
  let refusalsWithoutLateWrites = 0;
  for (const op of ops) {
    if (op.f === 'read') continue;
    if (queued(op)) {
      orphaned++;
      continue;
    }
    if (onLostBranch(op)) {
      refusalsOnLostBranch++;
      continue;
    }
    if (withoutLateWrites(op)) {
      refusalsWithoutLateWrites++;
      continue;
    }
    if (op.outcome !== 'info') {
      kept.push(op);
      continue;
    }
    const seq = seqOf(op);
    if (seq === undefined) {
      infoNoEffect++;
      continue;
    }
    infoTookEffect++;
    const bound = Math.min(...acked.filter((a) => a.seq > seq).map((a) => a.completedAt));
    kept.push({ ...op, completedAt: Math.max(bound, op.invokedAt) });
  }
  return {
    ops: kept,
    infoTookEffect,
    infoNoEffect,
    orphaned,
    refusalsOnLostBranch,
    refusalsWithoutLateWrites,
  };
}

/**
 * Under `ack: local` a Failover may lose a home's acknowledged writes (they end queued, `effects.orphaned`),
 * and with them the answers that home decided on the state they made: a refusal it gave after one of them
 * was written and before the Failover that took it over ended is left out like the write it stood on
 * (e.g. a withdrawal refused for a balance a lost withdrawal had lowered). A refusal from any other region,
 * or outside that window, still counts.
 */
function refusedOnLostBranch(effects: Effects, regionLosses: readonly RegionLoss[]) {
  const lost = effects.orphaned.map((op) => ({
    origin: effects.queued.get(opKeyOf(op))?.origin,
    writtenFrom: op.invokedAt,
  }));
  return (op: Operation): boolean =>
    op.outcome === 'fail' &&
    lost.some((w) => w.origin === op.region && w.writtenFrom < op.completedAt) &&
    regionLosses.some((l) => l.region === op.region && op.completedAt <= l.until);
}

/**
 * Under `ack: local` a Failover hands the lost home's partitions to a new home that decides on what it holds:
 * the lost home's last acknowledged writes that had not reached it are not in its state. When no write of
 * the new home forks them (a fork queues them: refusedOnLostBranch), they reach it later (the link heals,
 * Failback catches up) and join the log ahead of the new home's next write. A refusal the new home gave in
 * between was decided without them (e.g. a withdrawal refused for a balance a late deposit would have
 * raised). It is left out, and counted, only when all of this holds: it came from another region than the
 * lost one, after the Failover that took the lost one over ended; the log without a run of the lost home's
 * writes that the new home lacked when the Failover recorded its watermark (past it, and acknowledged before
 * the Failover ended plus the lease hold), a run that ends right before another region's write, refuses it
 * (balance below the amount); and it was invoked before that next write completed (from then on the new
 * home had the run). Under `ack: quorum` nothing is excused: Failover
 * collects every acknowledged write before the new home takes any.
 */
function refusedWithoutLateWrites(
  ops: readonly Operation[],
  effects: Effects,
  regionLosses: readonly RegionLoss[],
) {
  const log = ops
    .filter((op) => op.f !== 'read')
    .flatMap((op) => {
      const event = effects.happened.get(opKeyOf(op));
      return event ? [{ op, event }] : [];
    })
    .sort((a, b) => a.event.seq - b.event.seq);
  const balances: number[] = [];
  let balance = 0;
  for (const { event } of log) {
    const amount = Number(event.payload.amount ?? 0);
    if (event.type === 'Deposited') balance += amount;
    if (event.type === 'Withdrawn') balance -= amount;
    balances.push(balance);
  }
  /** Whether the event at `at` is a write of the lost home the new home may have lacked (past its watermark). */
  const lateIn = (loss: RegionLoss, home: string, at: number) => {
    const entry = log[at];
    const watermarks = loss.watermarks ?? {};
    if (!entry || entry.event.origin !== loss.region || !(home in watermarks)) return false;
    const watermark = watermarks[home] ?? null;
    const acknowledged = entry.op.outcome === 'info' || entry.op.completedAt <= loss.until;
    return acknowledged && (watermark === null || entry.event.hlc > watermark);
  };
  /** Whether the log without some run of late writes ending at j refuses `amount` (balance below it). */
  const refusesWithout = (loss: RegionLoss, home: string, j: number, amount: number) => {
    for (let k = j; k >= 0 && lateIn(loss, home, k); k--) if ((balances[k - 1] ?? 0) < amount) return true;
    return false;
  };
  /** j ends a run of late writes, and the write after it (the new home's) had not completed by `at`. */
  const endsRun = (loss: RegionLoss, home: string, j: number, at: number) => {
    const next = log[j + 1];
    if (!lateIn(loss, home, j) || (next && lateIn(loss, home, j + 1))) return false;
    return !(next && next.op.outcome === 'ok' && next.op.completedAt <= at);
  };
  return (op: Operation): boolean => {
    const home = op.region;
    if (op.outcome !== 'fail' || op.error !== 'InsufficientFunds' || home === undefined) return false;
    const amount = Number(op.input);
    return regionLosses.some(
      (loss) =>
        loss.region !== home &&
        op.invokedAt >= (loss.endedAt ?? loss.until) &&
        log.some((_, j) => endsRun(loss, home, j, op.invokedAt) && refusesWithout(loss, home, j, amount)),
    );
  };
}

function notLinearizable(key: string, result: ReturnType<typeof checkLinearizable>): Anomaly {
  const op = result.failedOp;
  return {
    checker: 'linearizability',
    kind: 'not-linearizable',
    key,
    message: `no linearization: op ${op ? opKeyOf(op) : '?'} ${op?.f} ${op?.input} -> ${op?.outcome} ${op?.output ?? op?.error ?? ''} cannot be placed after prefix [${result.longestPrefix?.join(', ')}]`,
  };
}

/** One account: folds and rows per region, every event mapped to its op, and the linearizability verdict. */
function checkAccount(
  key: string,
  ops: readonly Operation[],
  input: {
    regions: readonly RegionSnapshot[];
    ackMode?: AckMode;
    regionLosses?: readonly RegionLoss[];
    maxExplored?: number;
  },
) {
  const anomalies: Anomaly[] = [];
  for (const region of input.regions) anomalies.push(...checkFold(key, region, logOf(region, key)));
  const effects = mapEffects({
    key,
    ops,
    regions: input.regions,
    checker: 'core',
    ...(input.ackMode ? { ackMode: input.ackMode } : {}),
    ...(input.regionLosses ? { regionLosses: input.regionLosses } : {}),
  });
  anomalies.push(...effects.anomalies);
  const history = resolveHistory(ops, effects, input.regionLosses, input.ackMode);
  const result = checkLinearizable(accountModel, history.ops, {
    ...(input.maxExplored ? { maxExplored: input.maxExplored } : {}),
  });
  const verdict: AccountVerdict = {
    key,
    verdict:
      result.valid === true ? 'linearizable' : result.valid === false ? 'not-linearizable' : 'undecided',
    operations: result.operations,
    explored: result.explored,
    infoTookEffect: history.infoTookEffect,
    infoNoEffect: history.infoNoEffect,
    orphaned: history.orphaned,
    refusalsOnLostBranch: history.refusalsOnLostBranch,
    refusalsWithoutLateWrites: history.refusalsWithoutLateWrites,
  };
  if (result.valid === false) anomalies.push(notLinearizable(key, result));
  if (result.valid === 'unknown')
    anomalies.push({
      checker: 'linearizability',
      kind: 'undecided',
      key,
      message: `search bound hit after ${result.explored} configurations over ${result.operations} operations: not decided`,
    });
  return { anomalies, verdict, orphaned: effects.orphaned.length };
}

/**
 * Core tier, per account: every event of every region's log maps to exactly one client op (by the op id
 * the command carried) and every acknowledged write is in every region's final log (see mapEffects); the
 * balance never goes negative along a log; the projection row equals the fold of its log (version, head,
 * balance); and the history is linearizable against the account model. An undecided search is reported
 * as an anomaly (`undecided`), never as a pass.
 */
export function checkCoreTier(input: {
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  readonly regions: readonly RegionSnapshot[];
  readonly ackMode?: AckMode;
  /** Regions Failovers took over (ack local: their writes acknowledged before may end in the manual queue). */
  readonly regionLosses?: readonly RegionLoss[];
  readonly maxExplored?: number;
}): CoreCheck {
  const anomalies: Anomaly[] = [];
  const verdicts: AccountVerdict[] = [];
  let orphanedAcknowledged = 0;
  for (const [key, ops] of input.operations) {
    if (!key.startsWith('account/')) continue;
    const one = checkAccount(key, ops, input);
    anomalies.push(...one.anomalies);
    verdicts.push(one.verdict);
    orphanedAcknowledged += one.orphaned;
  }
  return {
    anomalies,
    accounts: verdicts.length,
    linearizable: verdicts.filter((v) => v.verdict === 'linearizable').length,
    undecided: verdicts.filter((v) => v.verdict === 'undecided').length,
    explored: verdicts.reduce((sum, v) => sum + v.explored, 0),
    verdicts,
    orphanedAcknowledged,
  };
}
