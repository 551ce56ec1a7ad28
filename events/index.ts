import type { AnyAggregate } from '../lib/model/index.ts';
import { account } from './account.ts';
import { activity } from './activity.ts';
import { profile } from './profile.ts';

export {
  AccountAlreadyOpen,
  AccountNotOpen,
  type AccountState,
  account,
  InsufficientFunds,
} from './account.ts';
export { type ActivityState, activity, RECENT_ENTRIES } from './activity.ts';
export { type ProfileState, profile } from './profile.ts';

/** The example application's aggregates: accounts (core), profiles (important), activity (ordinary). */
export const exampleAggregates: readonly AnyAggregate[] = [account, profile, activity];
