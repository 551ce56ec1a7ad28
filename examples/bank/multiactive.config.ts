/**
 * The example bank as an application: accounts (core), profiles (important), activity (ordinary) and
 * transfers between accounts (a saga with its own core aggregate), in two environments.
 */
import { defineApp } from '../../lib/app/index.ts';
import { dev } from './envs/dev.ts';
import { prod } from './envs/prod.ts';
import { account, activity, profile, transfer } from './index.ts';

export default defineApp({
  name: 'bank',
  aggregates: [account, profile, activity],
  sagas: [transfer],
  environments: { dev, prod },
});
