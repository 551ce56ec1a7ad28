/**
 * The example bank with many partitions, for the failover-scale bench: environments `p256`, `p1024` and
 * `p4096` are `dev` (same aggregates, regions and latencies) with that many partitions.
 */
import { dev } from '../../examples/bank/envs/dev.ts';
import { account, activity, profile, transfer } from '../../examples/bank/index.ts';
import { defineApp } from '../../lib/app/index.ts';

const sized = (partitions: number) => ({ ...dev, name: `p${partitions}`, partitions });

export default defineApp({
  name: 'bank',
  aggregates: [account, profile, activity],
  sagas: [transfer],
  environments: { p256: sized(256), p1024: sized(1_024), p4096: sized(4_096) },
});
