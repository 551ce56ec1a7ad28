import { z } from 'zod';
import { bugEnabled } from '../../lib/faults/index.ts';
import { DomainError, type DomainEvent } from '../../lib/model/index.ts';

/**
 * The account's side of a transfer (the Try-Confirm-Cancel steps the transfer saga sends it), kept apart
 * from deposits and withdrawals. Every step is idempotent by transfer id: the account remembers each
 * transfer it took part in, for TRANSFER_RETENTION_MS after its last step.
 */

/** How long a finished transfer's id is remembered (a step delivered later than this is refused, not rerun). */
export const TRANSFER_RETENTION_MS = 24 * 60 * 60 * 1_000;

/** What the account knows of one transfer. `held`: funds reserved (counted in `held`, not available). */
export interface TransferEntry {
  readonly status: 'held' | 'settled' | 'released' | 'credited';
  readonly amount: number;
  readonly expiresAt?: number;
  /** Coordinator time of the last step. */
  readonly at: number;
}

/** The transfer fields of an account's state; present once it took part in a transfer. */
export interface AccountTransfers {
  /** Funds reserved by holds: available = balance - held. */
  readonly held?: number;
  readonly transfers?: Readonly<Record<string, TransferEntry>>;
  /** Entries whose last step is older than this were forgotten; a Try sent before it is refused. */
  readonly forgottenBefore?: number;
}

const transferId = z.string().min(1).max(200);
const money = z.number().int().positive().max(1_000_000_000_00);
const at = z.number().int().nonnegative();

export const TRANSFER_COMMANDS = {
  /** Try (source): reserve `amount` until `expiresAt`. */
  PlaceHold: z.strictObject({ transferId, amount: money, expiresAt: at, at }),
  /** Confirm (source): the reserved funds leave the account. */
  SettleHold: z.strictObject({ transferId, at }),
  /** Cancel (source): the reservation is released; with none, a Try arriving later is refused. */
  ReleaseHold: z.strictObject({ transferId, at }),
  /** Confirm (target): the funds arrive. */
  CreditTransfer: z.strictObject({ transferId, amount: money, from: z.string().min(1).max(200), at }),
};

export const TRANSFER_EVENTS = {
  HoldPlaced: { version: 1, schema: TRANSFER_COMMANDS.PlaceHold },
  HoldSettled: { version: 1, schema: z.strictObject({ transferId, amount: money, at }) },
  /** `amount` 0: nothing was held (Cancel before, or instead of, the Try). */
  HoldReleased: {
    version: 1,
    schema: z.strictObject({ transferId, amount: z.number().int().nonnegative(), at }),
  },
  TransferCredited: { version: 1, schema: TRANSFER_COMMANDS.CreditTransfer },
};

/** A step for a transfer this account already closed the other way (a late Try after its Cancel, ...). */
export class TransferClosed extends DomainError {
  override readonly name = 'TransferClosed';
  constructor(id: string, status: string) {
    super('TransferClosed', `transfer ${id} is already ${status} on this account`, {
      transferId: id,
      status,
    });
  }
}

/** Settle for a transfer that holds nothing here: the saga broke its own decision (a bug). */
export class HoldNotFound extends DomainError {
  override readonly name = 'HoldNotFound';
  constructor(id: string) {
    super('HoldNotFound', `no hold for transfer ${id} on this account`, { transferId: id });
  }
}

/** Available funds (balance minus holds). */
export function availableOf(state: { balance: number } & AccountTransfers): number {
  return state.balance - (state.held ?? 0);
}

type Decided = DomainEvent[];
type Step = { type: string; payload: Record<string, unknown> };
type Account = AccountTransfers & { balance: number };

function placeHold(
  command: Step,
  state: Account,
  insufficient: (a: number, r: number) => Error,
  now: number,
): Decided {
  const p = TRANSFER_COMMANDS.PlaceHold.parse(command.payload);
  const entry = state.transfers?.[p.transferId];
  if (entry?.status === 'held') return [];
  if (entry) throw new TransferClosed(p.transferId, entry.status);
  if (p.at < (state.forgottenBefore ?? 0)) throw new TransferClosed(p.transferId, 'forgotten');
  // A Try sent once the reservation's expiry has passed, or delivered after it (sent in time, decided late:
  // a slow fence, a retried or duplicated delivery), would place a hold that outlives it from the start.
  const decidedAt = bugEnabled('hold-expiry-by-sender-clock') ? p.at : Math.max(p.at, now);
  if (decidedAt >= p.expiresAt && !bugEnabled('late-try-holds'))
    throw new TransferClosed(p.transferId, 'expired');
  if (p.amount > availableOf(state)) throw insufficient(availableOf(state), p.amount);
  return [{ type: 'HoldPlaced', payload: p }];
}

function settleHold(command: Step, state: Account): Decided {
  const p = TRANSFER_COMMANDS.SettleHold.parse(command.payload);
  const entry = state.transfers?.[p.transferId];
  if (entry?.status === 'settled') return [];
  if (entry?.status !== 'held') throw new HoldNotFound(p.transferId);
  return [{ type: 'HoldSettled', payload: { transferId: p.transferId, amount: entry.amount, at: p.at } }];
}

function releaseHold(command: Step, state: Account): Decided {
  const p = TRANSFER_COMMANDS.ReleaseHold.parse(command.payload);
  const entry = state.transfers?.[p.transferId];
  if (entry?.status === 'released') return [];
  if (entry && entry.status !== 'held') throw new TransferClosed(p.transferId, entry.status);
  return [
    { type: 'HoldReleased', payload: { transferId: p.transferId, amount: entry?.amount ?? 0, at: p.at } },
  ];
}

function creditTransfer(command: Step, state: Account): Decided {
  const p = TRANSFER_COMMANDS.CreditTransfer.parse(command.payload);
  const entry = state.transfers?.[p.transferId];
  // The broken build of the proof suite: a retried or duplicated Confirm credits again.
  if (entry?.status === 'credited' && !bugEnabled('non-idempotent-confirm')) return [];
  if (entry && entry.status !== 'credited') throw new TransferClosed(p.transferId, entry.status);
  return [{ type: 'TransferCredited', payload: p }];
}

/**
 * Decides a transfer step (the caller checked the account is open); `insufficient` builds its refusal, `now`
 * is the deciding home's clock.
 */
export function decideTransferStep(
  command: Step,
  state: Account,
  insufficient: (available: number, requested: number) => Error,
  now: number,
): Decided {
  switch (command.type) {
    case 'PlaceHold':
      return placeHold(command, state, insufficient, now);
    case 'SettleHold':
      return settleHold(command, state);
    case 'ReleaseHold':
      return releaseHold(command, state);
    case 'CreditTransfer':
      return creditTransfer(command, state);
    default:
      return [];
  }
}

function record(
  state: AccountTransfers,
  id: string,
  entry: TransferEntry,
): Required<Pick<AccountTransfers, 'transfers' | 'held'>> & AccountTransfers {
  const horizon = entry.at - TRANSFER_RETENTION_MS;
  const kept = Object.entries({ ...state.transfers, [id]: entry }).filter(
    ([, e]) => e.status === 'held' || e.at >= horizon,
  );
  const transfers = Object.fromEntries(kept);
  const forgotten = kept.length < Object.keys(state.transfers ?? {}).length + (state.transfers?.[id] ? 0 : 1);
  const held = kept.reduce((sum, [, e]) => sum + (e.status === 'held' ? e.amount : 0), 0);
  return {
    ...state,
    transfers,
    held,
    ...(forgotten ? { forgottenBefore: Math.max(state.forgottenBefore ?? 0, horizon) } : {}),
  };
}

/** Folds a transfer event into the account (balance changes on settle and credit only). */
export function evolveTransferStep<S extends AccountTransfers & { balance: number }>(
  state: S,
  event: DomainEvent,
): S {
  const p = event.payload as { transferId: string; amount: number; at: number; expiresAt?: number };
  const entry = (status: TransferEntry['status']): TransferEntry => ({
    status,
    amount: p.amount,
    at: p.at,
    ...(p.expiresAt === undefined ? {} : { expiresAt: p.expiresAt }),
  });
  switch (event.type) {
    case 'HoldPlaced':
      return { ...state, ...record(state, p.transferId, entry('held')) };
    case 'HoldSettled':
      return {
        ...state,
        ...record(state, p.transferId, entry('settled')),
        balance: state.balance - p.amount,
      };
    case 'HoldReleased':
      return { ...state, ...record(state, p.transferId, entry('released')) };
    case 'TransferCredited':
      return {
        ...state,
        ...record(state, p.transferId, entry('credited')),
        balance: state.balance + p.amount,
      };
    default:
      return state;
  }
}
