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
) {
  const seqOf = (op: Operation) => effects.happened.get(opKeyOf(op))?.seq;
  const queued = (op: Operation) => effects.queued.has(opKeyOf(op));
  const onLostBranch = refusedOnLostBranch(effects, regionLosses);
  const acked = ops
    .filter((op) => op.outcome === 'ok' && op.f !== 'read' && !queued(op))
    .map((op) => ({ seq: seqOf(op), completedAt: op.completedAt }))
    .filter((a): a is { seq: number; completedAt: number } => a.seq !== undefined);
  const kept: Operation[] = [];
  let infoTookEffect = 0;
  let infoNoEffect = 0;
  let orphaned = 0;
  let refusalsOnLostBranch = 0;
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
  return { ops: kept, infoTookEffect, infoNoEffect, orphaned, refusalsOnLostBranch };
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
  const history = resolveHistory(ops, effects, input.regionLosses);
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
