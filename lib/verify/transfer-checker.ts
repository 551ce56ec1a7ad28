import { foldAccount, heldIn } from './account-fold.ts';
import type { Anomaly } from './anomaly.ts';
import type { Operation } from './history.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';
import { checkTransferCauses } from './transfer-causes.ts';
import { checkOrphansQueued, type OrphanPolicy, transfersHitByRegionLoss } from './transfer-orphans.ts';

/** What the transfer checker found. */
export interface TransferCheck {
  readonly anomalies: Anomaly[];
  readonly transfers: number;
  readonly confirmed: number;
  readonly cancelled: number;
  readonly inDoubt: number;
  /** Regions whose transfer accounts hold a different total than their deposits minus withdrawals. */
  readonly conservationAnomalies: number;
  /** Events of transfers and transfer accounts traced to no client request, transfer or setup command. */
  readonly phantomWrites: number;
  /** Longest a hold stayed after its expiry (ms, by the HLC of the event that closed it); 0 when none did. */
  readonly maxHoldOvershootMs: number;
  /**
   * Longest a hold stayed after its expiry beyond the outages of its homes (what the bound is checked
   * against), and that hold; 0 and none when no hold outlived its expiry.
   */
  readonly maxHoldOvershootBeyondOutagesMs: number;
  readonly latestHold?: {
    readonly account: string;
    readonly region: string;
    readonly transferId: string;
    readonly ms: number;
    readonly outageMs: number;
    readonly homes: readonly string[];
  };
  /**
   * Transfers a region loss cut through under `ack: local` (see transfersHitByRegionLoss): their lost
   * events wait in the manual queue; exactly-once, holds and conservation are not asked of them.
   */
  readonly hitByRegionLoss: number;
  /** Cancelled transfers by reason (`refused by source: InsufficientFunds`, `expired`, ...). */
  readonly cancelReasons: Readonly<Record<string, number>>;
  /** Transfer requests the clients saw refused (4xx) or unanswered (5xx, timeouts), by outcome and code. */
  readonly clientErrors: Readonly<Record<string, number>>;
}

export interface TransferCheckInput extends OrphanPolicy {
  /** Client operations by key; transfers are `transfer/<idempotency key>` with `f: 'transfer'`. */
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  readonly regions: readonly RegionSnapshot[];
  /** The accounts the transfer workload used (deposits and withdrawals on them count as money in/out). */
  readonly accounts: readonly string[];
  /** Op ids (causationIds) of the commands that opened and funded those accounts before any transfer. */
  readonly setupOpIds: readonly string[];
  /** A hold must be settled or released within its expiry plus this (the sweep interval and its run). */
  readonly holdBoundMs: number;
  /**
   * Ms within [from, to] during which faults kept `homes` (the regions that wrote the hold and its close)
   * from writing (a killed or cut-off region until its Failover, a runbook moving partitions): the bound
   * does not run then (a hold waits for its home). None by default.
   */
  readonly outageMs?: (from: number, to: number, homes: readonly string[]) => number;
}

const TERMINAL = new Set(['confirmed', 'cancelled']);

interface SagaRow {
  readonly status: string;
  readonly reason: string | null;
  readonly input: { from: string; to: string; amount: number } | null;
}

const transferIdOf = (e: StoredEvent) => String(e.payload.transferId ?? '');

function logOf(region: RegionSnapshot, type: string, id: string): StoredEvent[] {
  return region.events
    .filter((e) => e.aggregateType === type && e.aggregateId === id)
    .sort((a, b) => a.seq - b.seq);
}

type LatestHold = TransferCheck['latestHold'];

/** What a step event moves: a settled hold leaves the source, a credit reaches the target. */
const stepDelta = (e: StoredEvent) =>
  e.type === 'HoldSettled'
    ? -Number(e.payload.amount)
    : e.type === 'TransferCredited'
      ? Number(e.payload.amount)
      : 0;
const beyondOutages = (hold: LatestHold) => (hold ? hold.ms - hold.outageMs : 0);

type Report = (kind: string, message: string, transferId?: string) => void;

/** Every closed hold of one account against the bound beyond its homes' outages; the latest such hold. */
function checkHoldBound(input: {
  account: string;
  region: string;
  late: ReturnType<typeof foldAccount>['late'];
  input: Pick<TransferCheckInput, 'holdBoundMs' | 'outageMs'>;
  at: Report;
}): LatestHold {
  const bound = input.input.holdBoundMs;
  let latest: LatestHold;
  for (const { transferId, ms, expiresAt, placedAt, closedAt, homes } of input.late) {
    const outage = ms > 0 ? (input.input.outageMs?.(expiresAt, closedAt, homes) ?? 0) : 0;
    const placed = placedAt - expiresAt;
    if (ms - outage > bound)
      input.at(
        'hold-outlived-bound',
        `hold of ${transferId} closed ${ms} ms after its expiry, ${outage} ms of it in outages of ${homes.join(', ')} (bound ${bound} ms beyond outages); placed ${Math.abs(placed)} ms ${placed < 0 ? 'before' : 'after'} its expiry`,
        transferId,
      );
    if (ms - outage > beyondOutages(latest))
      latest = { account: input.account, region: input.region, transferId, ms, outageMs: outage, homes };
  }
  return latest;
}

/**
 * One account in one region: the available balance never negative along its log, every hold closed, none
 * later than `bound` after its expiry, the projection row equal to the fold.
 */
function checkAccount(
  region: RegionSnapshot,
  id: string,
  input: Pick<TransferCheckInput, 'holdBoundMs' | 'outageMs'>,
  hit: ReadonlyMap<string, unknown> = new Map(),
) {
  const found: Anomaly[] = [];
  const at: Report = (kind, message, transferId) =>
    found.push({
      checker: 'transfers',
      kind,
      key: `account/${id}`,
      ...(transferId ? { related: [`transfer/${transferId}`] } : {}),
      region: region.region,
      message,
    });
  const folded = foldAccount(logOf(region, 'account', id));
  for (const message of folded.negative) at('negative-available', message);
  const late = folded.late.filter((l) => !hit.has(l.transferId));
  const latest = checkHoldBound({ account: id, region: region.region, late, input, at });
  for (const [tid, hold] of folded.holds) {
    // Its close may wait in the manual queue (transfersHitByRegionLoss).
    if (hit.has(tid)) continue;
    at('stuck-hold', `hold of ${tid} (${hold.amount}) never settled nor released`, tid);
  }
  const held = heldIn(folded.holds);
  const row = region.states.get(`account#${id}`);
  const state = row ? (JSON.parse(row.state) as { balance?: number; held?: number }) : undefined;
  if (state && (state.balance !== folded.balance || (state.held ?? 0) !== held)) {
    at(
      'state-mismatch',
      `row balance ${state.balance} held ${state.held ?? 0}, log balance ${folded.balance} held ${held}`,
    );
  }
  const overshoot = Math.max(0, ...folded.late.map((l) => l.ms));
  return { found, balance: folded.balance, moved: folded.moved, overshoot, latest };
}

/** Exactly once: a confirmed transfer debited and credited once each, a cancelled one neither. */
function checkTransfer(
  region: RegionSnapshot,
  id: string,
  saga: SagaRow,
  hit: ReadonlyMap<string, unknown>,
): Anomaly[] {
  const found: Anomaly[] = [];
  const related = saga.input ? [`account/${saga.input.from}`, `account/${saga.input.to}`] : [];
  const at = (kind: string, message: string) =>
    found.push({
      checker: 'transfers',
      kind,
      key: `transfer/${id}`,
      ...(related.length > 0 ? { related } : {}),
      region: region.region,
      message,
    });
  const decisions = logOf(region, 'transfer', id).filter(
    (e) => e.type === 'SagaConfirming' || e.type === 'SagaCancelling',
  );
  if (decisions.length > 1) at('two-decisions', decisions.map((d) => d.type).join(', '));
  // A transfer a region loss cut through may be half-done until the manual queue is settled.
  if (hit.has(id)) return found;
  if (!TERMINAL.has(saga.status)) at('in-doubt', `still ${saga.status}`);
  if (!saga.input) return found;
  const { from, to, amount } = saga.input;
  const count = (account: string, type: string) =>
    logOf(region, 'account', account).filter((e) => e.type === type && transferIdOf(e) === id);
  const debits = count(from, 'HoldSettled');
  const credits = count(to, 'TransferCredited');
  const wrongAmount = [...debits, ...credits].some((e) => Number(e.payload.amount) !== amount);
  if (wrongAmount) at('wrong-amount', `moved another amount than ${amount}`);
  const once = saga.status === 'confirmed' ? 1 : 0;
  if (saga.status === 'cancelled' && debits.length + credits.length > 0) {
    at('cancelled-but-moved', `${debits.length} debit(s), ${credits.length} credit(s)`);
  } else if (TERMINAL.has(saga.status) && (debits.length !== once || credits.length !== once)) {
    const kind =
      credits.length > 1 ? 'double-credit' : debits.length > 1 ? 'double-debit' : 'not-exactly-once';
    at(kind, `${saga.status} with ${debits.length} debit(s) and ${credits.length} credit(s)`);
  }
  return found;
}

function sagasOf(region: RegionSnapshot): Map<string, SagaRow> {
  const sagas = new Map<string, SagaRow>();
  for (const [key, row] of region.states) {
    if (!key.startsWith('transfer#')) continue;
    const state = JSON.parse(row.state) as SagaRow;
    sagas.set(key.slice('transfer#'.length), {
      status: state.status,
      reason: state.reason,
      input: state.input,
    });
  }
  return sagas;
}

/** One client operation against how its transfer ended. */
function checkOperation(key: string, op: Operation, sagas: ReadonlyMap<string, SagaRow>): Anomaly[] {
  if (op.outcome !== 'ok') return [];
  const id = op.eventIds[0];
  const saga = id ? sagas.get(id) : undefined;
  if (id && !saga)
    return [{ checker: 'transfers', kind: 'lost-transfer', key, message: `acknowledged ${id} is nowhere` }];
  const told = typeof op.output === 'string' ? op.output : null;
  if (told && TERMINAL.has(told) && saga && saga.status !== told) {
    return [
      { checker: 'transfers', kind: 'outcome-changed', key, message: `told ${told}, ended ${saga.status}` },
    ];
  }
  return [];
}

/** What the clients were told must hold: a transfer answered confirmed (or cancelled) ended that way. */
function checkClients(
  operations: TransferCheckInput['operations'],
  sagas: ReadonlyMap<string, SagaRow>,
  hit: ReadonlyMap<string, unknown>,
): Anomaly[] {
  const found: Anomaly[] = [];
  for (const [key, ops] of operations) {
    if (!key.startsWith('transfer/')) continue;
    const ids = new Set(ops.flatMap((op) => op.eventIds));
    if (ids.size > 1)
      found.push({
        checker: 'transfers',
        kind: 'key-names-two-transfers',
        key,
        message: [...ids].join(', '),
      });
    // What a client was told of a transfer a region loss cut through may be on the lost side.
    for (const op of ops.filter((o) => !hit.has(o.eventIds[0] ?? '')))
      found.push(...checkOperation(key, op, sagas));
  }
  return found;
}

/** One region: its transfers, its transfer accounts, and whether they hold their deposits less withdrawals. */
function checkRegion(region: RegionSnapshot, input: TransferCheckInput, hit: ReadonlyMap<string, unknown>) {
  const anomalies: Anomaly[] = [];
  for (const [id, saga] of sagasOf(region)) anomalies.push(...checkTransfer(region, id, saga, hit));
  // What the steps of transfers a region loss cut through moved is left out: part of it may be queued.
  let total = -region.events
    .filter((e) => e.aggregateType === 'account' && hit.has(transferIdOf(e)))
    .reduce((sum, e) => sum + stepDelta(e), 0);
  let moved = 0;
  let overshoot = 0;
  let latest: LatestHold;
  for (const account of input.accounts) {
    const folded = checkAccount(region, account, input, hit);
    anomalies.push(...folded.found);
    total += folded.balance;
    moved += folded.moved;
    overshoot = Math.max(overshoot, folded.overshoot);
    if (beyondOutages(folded.latest) > beyondOutages(latest)) latest = folded.latest;
  }
  const conserved = total === moved;
  if (!conserved)
    anomalies.push({
      checker: 'transfers',
      kind: 'money-not-conserved',
      region: region.region,
      message: `transfer accounts hold ${total}, deposits minus withdrawals are ${moved}`,
    });
  return { anomalies, conserved, overshoot, latest };
}

/** Cancelled transfers by reason, and what the clients saw refused or unanswered, by outcome and code. */
function tallies(reference: ReadonlyMap<string, SagaRow>, operations: TransferCheckInput['operations']) {
  const cancelReasons: Record<string, number> = {};
  for (const saga of reference.values()) {
    if (saga.status === 'cancelled')
      cancelReasons[saga.reason ?? '?'] = (cancelReasons[saga.reason ?? '?'] ?? 0) + 1;
  }
  const clientErrors: Record<string, number> = {};
  for (const [key, ops] of operations) {
    if (!key.startsWith('transfer/')) continue;
    for (const op of ops.filter((o) => o.outcome !== 'ok')) {
      const label = `${op.outcome} ${op.error ?? 'in flight'}`;
      clientErrors[label] = (clientErrors[label] ?? 0) + 1;
    }
  }
  return { cancelReasons, clientErrors };
}

/**
 * Transfers (DESIGN.md invariant 7), in every region after the run: every transfer ended, confirmed or
 * cancelled, exactly once (one decision; a confirmed one debited and credited once each, a cancelled one
 * neither); money is conserved (the transfer accounts hold their deposits minus their withdrawals); no
 * available balance went negative along any log; no hold is left, and none outlived its expiry by more
 * than `holdBoundMs`; what a client was told is how the transfer ended; every event of a transfer or of a
 * transfer account is traced to its cause by op id (see checkTransferCauses).
 */
export function checkTransfers(input: TransferCheckInput): TransferCheck {
  const anomalies: Anomaly[] = [];
  let conservationAnomalies = 0;
  let maxHoldOvershootMs = 0;
  let latestHold: LatestHold;
  const hit = transfersHitByRegionLoss(input.regions, input);
  anomalies.push(...checkOrphansQueued(input.regions, hit));
  for (const region of input.regions) {
    const checked = checkRegion(region, input, hit);
    anomalies.push(...checked.anomalies);
    if (!checked.conserved) conservationAnomalies++;
    maxHoldOvershootMs = Math.max(maxHoldOvershootMs, checked.overshoot);
    if (beyondOutages(checked.latest) > beyondOutages(latestHold)) latestHold = checked.latest;
  }
  const reference = sagasOf(input.regions[0]!);
  anomalies.push(...checkClients(input.operations, reference, hit));
  const phantoms = checkTransferCauses({ ...input, setupOpIds: new Set(input.setupOpIds) });
  anomalies.push(...phantoms);
  const statuses = [...reference.values()].map((s) => s.status);
  return {
    ...tallies(reference, input.operations),
    anomalies,
    transfers: reference.size,
    confirmed: statuses.filter((s) => s === 'confirmed').length,
    cancelled: statuses.filter((s) => s === 'cancelled').length,
    inDoubt: [...reference].filter(([id, s]) => !TERMINAL.has(s.status) && !hit.has(id)).length,
    conservationAnomalies,
    hitByRegionLoss: hit.size,
    phantomWrites: phantoms.length,
    maxHoldOvershootMs,
    maxHoldOvershootBeyondOutagesMs: beyondOutages(latestHold),
    ...(latestHold ? { latestHold } : {}),
  };
}
