import type { AnyAggregate } from '../../lib/model/index.ts';
import type { AnySaga } from '../../lib/sagas/index.ts';
import { account } from './account.ts';
import { activity } from './activity.ts';
import { profile } from './profile.ts';
import { transfer } from './transfer.ts';

export {
  AccountAlreadyOpen,
  AccountNotOpen,
  type AccountState,
  account,
  InsufficientFunds,
} from './account.ts';
export {
  availableOf,
  HoldNotFound,
  TRANSFER_RETENTION_MS,
  TransferClosed,
  type TransferEntry,
} from './account-transfers.ts';
export { type ActivityState, activity, RECENT_ENTRIES } from './activity.ts';
export { type ProfileState, profile } from './profile.ts';
export { type TransferInput, transfer, transferInput } from './transfer.ts';

/** The example application's sagas: transfers between accounts. */
export const exampleSagas: readonly AnySaga[] = [transfer];

/**
 * The example application's aggregates: accounts (core), profiles (important), activity (ordinary) and
 * the transfer saga's own aggregate (core).
 */
export const exampleAggregates: readonly AnyAggregate[] = [account, profile, activity, transfer.aggregate];
