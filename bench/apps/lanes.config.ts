/**
 * The example bank for the cost bench's lane comparison: environment `nolane` is `dev` with the ordinary
 * lane off, so ordinary events take the real-time path (one applier invocation per event).
 */
import { dev } from '../../examples/bank/envs/dev.ts';
import { account, activity, profile, transfer } from '../../examples/bank/index.ts';
import { defineApp } from '../../lib/app/index.ts';

export default defineApp({
  name: 'bank',
  aggregates: [account, profile, activity],
  sagas: [transfer],
  environments: { dev, nolane: { ...dev, name: 'nolane', ordinaryLane: { enabled: false } } },
});
