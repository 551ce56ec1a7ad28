import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { type PartitionEntry, type PartitionMap, partitionOf } from '../../../lib/ownership/index.ts';
import { type Cluster, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { PARTITIONS, runbookSteps } from './switchover-steps.ts';

/**
 * Review of i15-switchover-2 fixes, failing by design: a Fence invocation that outlives its task fences a
 * partition after the execution's Rollback has already left it alone; it stays fenced by the run forever.
 *
 * The machine's Fence task times out after TASK_TIMEOUT (60 s, cdk runbook-defaults.ts) but the runbook
 * function runs for up to 5 minutes: Step Functions stops waiting, it does not stop the Lambda. A Fence of
 * many partitions against a slow control replica (each partition: a read, the compare-and-set's read and
 * write, up to 3 attempts, at concurrency 16) can outlast 60 s.
 * Interleaving (R: Switchover A -> B, runbook in C):
 * 1. Fence (run R) reads partition p's entry "A, active" and decides to fence it; its next control call
 *    is slow. The task times out; the Catch runs Rollback without `$.fence`.
 * 2. Rollback (run R) reads p: "A, active", last changed by someone else than R -> left-alone. Rollback
 *    succeeds, the execution ends in its Fail state.
 * 3. The old Fence invocation goes on: `fenceEntry(map, "A, active", R)` -- the entry is still the one it
 *    read, so the compare-and-set commits "A, fenced, R".
 * Nothing of R runs any more: p refuses every core write until an operator finds and unfences it (the
 * Fence's fresh `fenceEntry` guard only checks the entry, not whether the execution is still alive).
 * Severity MEDIUM (liveness: partition unwritable indefinitely; no write lost). The same holds for the
 * 3-attempt loop: any attempt may be the one that lands late.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const C: RegionName = 'ap-southeast-1';

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 1_500, skewMarginMs: 500 });
  return shared;
};

/** `map` whose first read answers only once `gate` resolves (the slow control call of step 1). */
function slowFirstRead(map: PartitionMap, gate: Promise<void>): PartitionMap {
  let first = true;
  const slow = Object.create(map) as PartitionMap;
  slow.read = async (partition: number): Promise<PartitionEntry | null> => {
    const entry = await map.read(partition);
    if (first) {
      first = false;
      await gate;
    }
    return entry;
  };
  return slow;
}

/** The interleaving above; returns what Rollback answered, how the late Fence ended, and the entry. */
async function scenario(c: Cluster) {
  const accounts = new CheckedAccounts(c);
  const id = c.freshId('late-fence');
  const partition = partitionOf(id, PARTITIONS);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);

  const run = `r-${id}`;
  const input = { partitions: [partition], to: B, run: { id: run } };
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The Fence invocation Step Functions gave up on (its control calls are slow).
  const fencing = runbookSteps(c, C, { deps: { map: slowFirstRead(c.cells[C].map, gate) } });
  Object.assign(fencing.state, input);
  const fence = fencing.task('Fence');

  // The machine's Catch: Rollback with the same input and run id, no `$.fence`.
  const rollingBack = runbookSteps(c, C);
  Object.assign(rollingBack.state, input);
  const rollback = await rollingBack.task('Rollback');
  // Execution over (RollbackRefused is not raised: the partition was "left alone").

  release();
  // Past its deadline the late Fence fails (FenceDeadline) instead of fencing: either way, the entry.
  const late = await fence.catch((error: Error) => ({ error: error.message }));
  const entry = await c.cells[A].map.read(partition);
  return { run, rollback, late, entry: { home: entry?.home, state: entry?.state, run: entry?.run } };
}

describe('review switchover-2b: a Fence that lands after its Rollback', () => {
  afterEach(() => disableAllBugs());

  it('leaves no partition fenced by the run once the execution has rolled back', async () => {
    const report = await scenario(await cluster());
    expect(report.entry, JSON.stringify(report)).not.toEqual(
      expect.objectContaining({ state: 'fenced', run: report.run }),
    );
    // The late Fence refused to start its compare-and-set past its deadline.
    expect(report.late).toEqual({ error: expect.stringContaining('deadline passed') });
  });

  it('with late-fence-after-rollback: the late Fence fences the partition after Rollback left it alone', async () => {
    const c = await cluster();
    const report = await withBug('late-fence-after-rollback', () => scenario(c));
    expect(report.entry, JSON.stringify(report)).toEqual(
      expect.objectContaining({ state: 'fenced', run: report.run }),
    );
  });
});
