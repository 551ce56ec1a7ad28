import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { type Answer, type Cluster, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts, converge, expectClean } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Adversarial review of i15-switchover (cooperative switchover): what HELD.
 *
 * Guarantee checked: single writer and RPO 0 for acknowledged core writes when the old home's clients keep
 * writing WHILE CheckWatermark writes the fence into its copy and reads its head (truly concurrent, not at
 * discrete steps as in switchover-fence-confirm.test.ts): the fence round misses the old home (link B-A
 * cut), its cached lease outlives the scenario, deposits race the confirm's write-back and the head read;
 * then the new home writes at once. Expect: every deposit the old home acknowledged is in the new home's
 * log below the new home's first write, and the chaos checkers find no fork and no lost write.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 20_000, skewMarginMs: 500 });
  return shared;
};

describe('review: old-home writes racing the fence confirmation', { timeout: 120_000 }, () => {
  afterEach(() => disableAllBugs());

  for (const round of [1, 2, 3]) {
    it(`keeps every acknowledged old-home deposit below the new home's first write (round ${round})`, async () => {
      const c = await cluster();
      const accounts = new CheckedAccounts(c);
      const id = c.freshId(`rv-race-${round}`);
      const partition = partitionOf(id, PARTITIONS);
      expect((await accounts.open(A, id)).status).toBe(200);
      await c.replicate(A, B, 'account', id);
      c.links.cut(B, A);
      try {
        const run = createRunbookDispatcher({
          ...clusterRunbookDeps(c, B),
          watermarkPoll: { intervalMs: 5, budgetMs: 100 },
        });
        const state: Record<string, unknown> = {
          partitions: [partition],
          to: B,
          run: { id: `rv-race-${id}` },
        };
        const task = async (name: string) => {
          const key = name[0]!.toLowerCase() + name.slice(1);
          state[key] = await run({ runbook: 'switchover', task: name, input: state });
          return state[key] as Record<string, unknown>;
        };
        await task('Fence');
        // Deposits at the old home, sequential per client, four clients, racing the first CheckWatermark.
        let stop = false;
        const answers: Answer[] = [];
        const client = async () => {
          while (!stop) answers.push(await accounts.deposit(A, id, 1));
        };
        const clients = [client(), client(), client(), client()];
        let check = await task('CheckWatermark');
        for (let poll = 0; check.caughtUp !== true; poll++) {
          expect(poll).toBeLessThan(200);
          await c.replicate(A, B, 'account', id);
          check = await task('CheckWatermark');
        }
        stop = true;
        await Promise.all(clients);
        expect(check.partitions).toEqual([expect.objectContaining({ confirmedBy: 'own-copy' })]);
        await task('MoveHome');
        await task('Unfence');
        const first = await accounts.deposit(B, id, 100);
        expect(first.status).toBe(200);
        const log = await c.cells[B].events.loadStream('account', id);
        const firstSeq = log.find((e) => e.origin === B)!.seq;
        const acked = answers
          .filter((a) => a.status === 200)
          .flatMap((a) => a.body.events as { eventId: string }[]);
        const below = new Set(log.filter((e) => e.seq < firstSeq).map((e) => e.eventId));
        for (const event of acked) expect(below.has(event.eventId)).toBe(true);
        c.links.heal();
        await converge(c, B, id);
        expectClean((await accounts.check()).filter((a) => a.key === `account/${id}`));
      } finally {
        c.links.heal();
      }
    });
  }
});
