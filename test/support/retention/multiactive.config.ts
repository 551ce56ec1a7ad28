/**
 * The example bank with a retention on `account` (a snapshot every 3 events, payloads older than one day
 * archived): the sandbox test of the archiver (test/e2e/archive.test.ts) runs it.
 */

import { dev } from '../../../examples/bank/envs/dev.ts';
import { account, activity, profile, transfer } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { defineApp } from '../../../lib/app/index.ts';
import { defineTopology } from '../../../lib/config/index.ts';

export default defineApp({
  name: bank.name,
  aggregates: [account, profile, activity],
  sagas: [transfer],
  environments: {
    dev: defineTopology({
      ...dev,
      aggregates: dev.aggregates.map((a) =>
        a.type === 'account' ? { ...a, lifecycle: { snapshotEvery: 3, retentionDays: 1 } } : a,
      ),
    }),
  },
});
