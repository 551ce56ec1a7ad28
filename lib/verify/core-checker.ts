import type { Anomaly } from './anomaly.ts';
import type { Operation } from './history.ts';
import { checkLinearizable, type LinearizabilityResult } from './linearizable.ts';
import { accountModel } from './models.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** What the core-tier checker found, per run. */
export interface CoreCheck {
  readonly anomalies: Anomaly[];
  readonly accounts: number;
  readonly linearizable: number;
  readonly unknown: number;
  readonly explored: number;
}

const EFFECT: Readonly<Record<string, 'deposit' | 'withdraw' | 'open'>> = {
  Deposited: 'deposit',
  Withdrawn: 'withdraw',
  AccountOpened: 'open',
};

/** `account/<id>` -> the id. */
const idOf = (key: string) => key.slice(key.indexOf('/') + 1);

/** Folds one region's log of an account in seq order: gaps, negative balances, projection mismatch. */
function checkLog(key: string, region: RegionSnapshot, log: readonly StoredEvent[]): Anomaly[] {
  const found: Anomaly[] = [];
  const at = (kind: string, message: string) =>
    found.push({ checker: 'core', kind, key, region: region.region, message });
  let balance = 0;
  log.forEach((event, i) => {
    if (event.seq !== i + 1) at('log-gap', `seq ${event.seq} at position ${i + 1}`);
    // The chain rule: each event names the one before it in this log, so a log never joins two branches.
    const before = i === 0 ? null : log[i - 1]!.hlc;
    if (event.seq === i + 1 && event.prev !== before)
      at(
        'broken-chain',
        `seq ${event.seq} (${event.eventId}) follows ${event.prev}, the log holds ${before}`,
      );
    const amount = Number(event.payload.amount ?? 0);
    if (event.type === 'Deposited') balance += amount;
    if (event.type === 'Withdrawn') balance -= amount;
    if (balance < 0) at('negative-balance', `balance ${balance} after seq ${event.seq} (${event.eventId})`);
  });
  const row = region.states.get(`account#${idOf(key)}`);
  if (log.length > 0 && row) {
    const state = JSON.parse(row.state) as { balance?: number };
    if (state.balance !== balance || row.version !== log.length)
      at(
        'state-mismatch',
        `row v${row.version} balance ${state.balance}, log v${log.length} balance ${balance}`,
      );
  }
  return found;
}

/** Every ok'd op's events are in the log; every logged event belongs to an ok'd or an indeterminate op. */
function checkAccounted(
  key: string,
  ops: readonly Operation[],
  region: RegionSnapshot,
  log: readonly StoredEvent[],
) {
  const found: Anomaly[] = [];
  const ids = new Set(log.map((e) => e.eventId));
  // An acknowledged event of a losing branch, kept in the manual conflict queue, is not lost.
  const queued = new Set(region.queued.map((e) => e.eventId));
  const acked = new Set<string>();
  for (const op of ops) {
    if (op.outcome !== 'ok') continue;
    for (const id of op.eventIds) {
      acked.add(id);
      if (!ids.has(id) && !queued.has(id))
        found.push({
          checker: 'core',
          kind: 'lost-write',
          key,
          region: region.region,
          message: `ok'd ${op.f} ${op.input} (op ${op.id}, event ${id}) is in neither the log nor the conflict queue`,
        });
    }
  }
  // Unacknowledged events must each be matched by a distinct indeterminate op of the same kind and amount.
  const pending = ops.filter((op) => op.outcome === 'info').map((op) => `${op.f}:${op.input ?? ''}`);
  for (const event of log) {
    if (acked.has(event.eventId)) continue;
    const f = EFFECT[event.type];
    const amount = f === 'open' ? '' : String(event.payload.amount ?? '');
    const match = pending.findIndex((p) => p === `${f}:${amount}` || (f === 'open' && p.startsWith('open:')));
    if (match >= 0) pending.splice(match, 1);
    else
      found.push({
        checker: 'core',
        kind: 'phantom-write',
        key,
        region: region.region,
        message: `${event.type} ${amount} (event ${event.eventId}) matches no client operation`,
      });
  }
  return found;
}

/**
 * Core tier, per account: every acknowledged deposit/withdraw is in every region's final log and balance
 * (an indeterminate one may or may not be), no event appears that no client sent, the balance never goes
 * negative along the log, the projection row matches the log, and the history is linearizable against
 * the account model (WGL search, bounded by `maxExplored`).
 */
export function checkCoreTier(input: {
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  readonly regions: readonly RegionSnapshot[];
  readonly maxExplored?: number;
}): CoreCheck {
  const anomalies: Anomaly[] = [];
  let linearizable = 0;
  let unknown = 0;
  let explored = 0;
  for (const [key, ops] of input.operations) {
    if (!key.startsWith('account/')) continue;
    const id = idOf(key);
    for (const region of input.regions) {
      const log = region.events
        .filter((e) => e.aggregateType === 'account' && e.aggregateId === id)
        .sort((a, b) => a.seq - b.seq);
      anomalies.push(...checkLog(key, region, log), ...checkAccounted(key, ops, region, log));
    }
    const result: LinearizabilityResult = checkLinearizable(accountModel, ops, {
      ...(input.maxExplored ? { maxExplored: input.maxExplored } : {}),
    });
    explored += result.explored;
    if (result.valid === true) linearizable++;
    if (result.valid === 'unknown') unknown++;
    if (result.valid === false) {
      const op = result.failedOp;
      anomalies.push({
        checker: 'linearizability',
        kind: 'not-linearizable',
        key,
        message: `no linearization: op ${op?.id} ${op?.f} ${op?.input} -> ${op?.outcome} ${op?.output ?? op?.error ?? ''} cannot be placed after prefix [${result.longestPrefix?.join(', ')}]`,
      });
    }
  }
  const accounts = [...input.operations.keys()].filter((k) => k.startsWith('account/')).length;
  return { anomalies, accounts, linearizable, unknown, explored };
}
