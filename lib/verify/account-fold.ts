import { decodeHlc } from '../clock/hlc.ts';
import type { StoredEvent } from './snapshot.ts';

const transferIdOf = (e: StoredEvent) => String(e.payload.transferId ?? '');

/** Balance change of an account event: deposits and credits in, withdrawals and debits out. */
const DELTA: Readonly<Record<string, number>> = {
  Deposited: 1,
  TransferCredited: 1,
  Withdrawn: -1,
  HoldSettled: -1,
};

/** A hold that was closed (settled or released): when, relative to its expiry, and by which homes. */
export interface ClosedHold {
  readonly transferId: string;
  readonly ms: number;
  readonly expiresAt: number;
  /** Wall ms of the HLC of the event that placed it (after `expiresAt`: a Try decided late). */
  readonly placedAt: number;
  readonly closedAt: number;
  /** The regions that wrote the account's events from the hold to its close (the account's homes then). */
  readonly homes: readonly string[];
}

export interface Folded {
  balance: number;
  /** Deposits minus withdrawals: the money that entered from outside. */
  moved: number;
  /** Open holds, each with the regions that wrote the account's events since it was placed (its homes). */
  readonly holds: Map<string, { amount: number; expiresAt: number; placedAt: number; homes: Set<string> }>;
  /** Per closed hold: its expiry, when it closed (wall ms of the closing event's HLC) and how long after. */
  readonly late: ClosedHold[];
  readonly negative: string[];
}

/** Folds one account's log in seq order: balance, open holds, how late holds closed, negative availability. */
export function foldAccount(log: readonly StoredEvent[]): Folded {
  const folded: Folded = { balance: 0, moved: 0, holds: new Map(), late: [], negative: [] };
  for (const event of log) {
    const amount = Number(event.payload.amount ?? 0);
    const tid = transferIdOf(event);
    folded.balance += (DELTA[event.type] ?? 0) * amount;
    if (event.type === 'Deposited' || event.type === 'Withdrawn')
      folded.moved += (DELTA[event.type] ?? 0) * amount;
    for (const open of folded.holds.values()) open.homes.add(event.origin);
    if (event.type === 'HoldPlaced')
      folded.holds.set(tid, {
        amount,
        expiresAt: Number(event.payload.expiresAt),
        placedAt: decodeHlc(event.hlc).wall,
        homes: new Set([event.origin]),
      });
    const hold = folded.holds.get(tid);
    if ((event.type === 'HoldSettled' || event.type === 'HoldReleased') && hold) {
      folded.holds.delete(tid);
      const closedAt = decodeHlc(event.hlc).wall;
      folded.late.push({
        transferId: tid,
        ms: closedAt - hold.expiresAt,
        expiresAt: hold.expiresAt,
        placedAt: hold.placedAt,
        closedAt,
        homes: [...hold.homes],
      });
    }
    const available = folded.balance - heldIn(folded.holds);
    if (available < 0) folded.negative.push(`available ${available} after seq ${event.seq} (${event.type})`);
  }
  return folded;
}

/** Funds reserved by open holds. */
export function heldIn(holds: ReadonlyMap<string, { amount: number }>): number {
  return [...holds.values()].reduce((sum, h) => sum + h.amount, 0);
}
