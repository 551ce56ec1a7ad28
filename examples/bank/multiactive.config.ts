/**
 * The example bank as an application: accounts (core), profiles (important), activity (ordinary) and
 * transfers between accounts (a saga with its own core aggregate), in three environments
 * (dev and prod in three regions, world in five).
 */
import { defineApp } from '../../lib/app/index.ts';
import { dev } from './envs/dev.ts';
import { prod } from './envs/prod.ts';
import { world } from './envs/world.ts';
import { account, activity, profile, transfer } from './index.ts';

export default defineApp({
  name: 'bank',
  aggregates: [account, profile, activity],
  sagas: [transfer],
  environments: { dev, prod, world },
});
