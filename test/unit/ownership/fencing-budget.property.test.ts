import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dev } from '../../../examples/bank/envs/dev.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology, type TopologyInput } from '../../../lib/config/index.ts';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  type ControlReplica,
  FENCING_DEFAULTS,
  type FencingBudget,
  fencePartition,
  fencingBudgetIssues,
  InMemoryControlReplica,
  movePartitionHome,
  PartitionMap,
  PartitionOwnership,
  QuorumRegister,
  type RegisterRecord,
  unfencePartition,
} from '../../../lib/ownership/index.ts';

const [A, B, C] = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const PARTITION = 3;

afterEach(() => disableAllBugs());

describe('fencing budget (lib/ownership/fencing-budget.ts)', () => {
  it('accepts the defaults and every shipped environment', () => {
    expect(fencingBudgetIssues(FENCING_DEFAULTS)).toEqual([]);
    expect(fencingBudgetIssues(bank.topology('dev').fencing)).toEqual([]);
    expect(fencingBudgetIssues(bank.topology('prod').fencing)).toEqual([]);
  });

  it('refuses a skew margin that does not cover an append in flight plus the clock offset', () => {
    const issues = fencingBudgetIssues({ ...FENCING_DEFAULTS, skewMarginMs: 1_500 });
    expect(issues).toEqual([
      { field: 'skewMarginMs', message: expect.stringMatching(/appendTimeoutMs \+ maxClockOffsetMs/) },
    ]);
  });

  it('refuses a lease a write cannot finish inside, and non-numbers', () => {
    expect(fencingBudgetIssues({ ...FENCING_DEFAULTS, leaseMs: 2_500 })).toEqual([
      { field: 'leaseMs', message: expect.stringMatching(/never finish inside its lease/) },
    ]);
    expect(fencingBudgetIssues({ ...FENCING_DEFAULTS, appendTimeoutMs: 0 })[0]?.field).toBe(
      'appendTimeoutMs',
    );
  });

  it('is checked when the configuration is loaded, by path', () => {
    const input: TopologyInput = { ...dev, fencing: { skewMarginMs: 1_000, maxClockOffsetMs: 500 } };
    expect(() => parseTopology(input, 'test')).toThrow(/fencing\.skewMarginMs: must exceed appendTimeoutMs/);
  });
});

/** A replica whose writes fail while its region is cut off from control-state writes. */
class CutReplica implements ControlReplica {
  cut = false;
  constructor(private readonly inner: InMemoryControlReplica) {}
  get region() {
    return this.inner.region;
  }
  read<V>(key: string) {
    return this.inner.read<V>(key);
  }
  async write<V>(key: string, record: RegisterRecord<V>) {
    if (this.cut) throw new Error('cut off');
    return this.inner.write(key, record);
  }
}

const budgetArb = fc
  .record({
    leaseMs: fc.integer({ min: 200, max: 5_000 }),
    appendTimeoutMs: fc.integer({ min: 1, max: 1_000 }),
    maxClockOffsetMs: fc.integer({ min: 0, max: 1_000 }),
    spare: fc.integer({ min: 1, max: 500 }),
  })
  .map(
    ({ leaseMs, appendTimeoutMs, maxClockOffsetMs, spare }): FencingBudget => ({
      leaseMs: leaseMs + appendTimeoutMs + 2,
      skewMarginMs: appendTimeoutMs + maxClockOffsetMs + spare,
      maxClockOffsetMs,
      appendTimeoutMs,
      quorumCopyTimeoutMs: 1,
    }),
  );

/** One core write of the old home: starts (lease check) at `start`, stalls, appends for `inFlight`. */
const writeArb = fc.record({
  start: fc.double({ min: 0, max: 3, noNaN: true }),
  stall: fc.double({ min: 0, max: 2, noNaN: true }),
  inFlight: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** Takes the earliest step off the list (ties in insertion order). */
function next<S extends { at: number }>(steps: S[]): S | undefined {
  let best = -1;
  steps.forEach((step, i) => {
    if (best < 0 || step.at < steps[best]!.at) best = i;
  });
  return best < 0 ? undefined : steps.splice(best, 1)[0];
}

/** Times are in leases (writes' in-flight in append timeouts); offsets in ms. */
interface Timeline {
  readonly budget: FencingBudget;
  readonly writes: ReadonlyArray<{ start: number; stall: number; inFlight: number }>;
  readonly fenceAt: number;
  readonly unfenceGap: number;
  readonly runbookOffset: number;
  readonly newHomeOffset: number;
}

const timelineArb: fc.Arbitrary<Timeline> = budgetArb.chain((budget) =>
  fc.record({
    budget: fc.constant(budget),
    writes: fc.array(writeArb, { minLength: 1, maxLength: 6 }),
    fenceAt: fc.double({ min: 0, max: 2, noNaN: true }),
    unfenceGap: fc.double({ min: 0, max: 2, noNaN: true }),
    // Wall clocks: the runbook's and the new home's, each off true time by up to maxClockOffsetMs.
    runbookOffset: fc.integer({ min: 0, max: budget.maxClockOffsetMs }),
    newHomeOffset: fc.integer({ min: 0, max: budget.maxClockOffsetMs }),
  }),
);

/**
 * Plays a timeline in virtual time against the real PartitionOwnership and PartitionMap (in-memory
 * replicas): the old home A (cut off from control writes, so only its lease stops it) makes its writes,
 * a runbook fences, moves to B and unfences; B writes at the first instant its clock allows. Returns the
 * commit times of A's acknowledged writes and B's first write.
 */
async function play(input: Timeline) {
  const { budget } = input;
  let t = 0;
  const replicas = [A, B, C].map((r) => new CutReplica(new InMemoryControlReplica(r)));
  const mapAt = (offset: number) =>
    new PartitionMap({
      register: new QuorumRegister({ replicas, callTimeoutMs: 0 }),
      leaseMs: budget.leaseMs,
      skewMarginMs: budget.skewMarginMs,
      now: () => t + offset,
    });
  const owner = (region: string, offset: number) =>
    new PartitionOwnership({
      region,
      map: mapAt(offset),
      local: replicas.find((r) => r.region === region)!,
      controlTable: 'control',
      now: () => t + offset,
      monotonic: () => t,
      inFlight: budget,
    });
  const oldHome = owner(A, 0);
  const newHome = owner(B, input.newHomeOffset);
  const runbook = mapAt(input.runbookOffset);
  await oldHome.entryFor(PARTITION, { claim: true });

  const scale = (x: number) => Math.round(x * budget.leaseMs);
  type Step = { at: number; run: () => Promise<void> };
  const steps: Step[] = [];
  const acked: number[] = [];
  for (const w of input.writes) {
    const start = scale(w.start);
    const resume = start + scale(w.stall);
    const inFlight = Math.round(w.inFlight * budget.appendTimeoutMs);
    let reconfirm: (() => number | undefined) | undefined;
    steps.push({
      at: start,
      run: async () => {
        reconfirm = await oldHome.fenceCoreWrite(PARTITION).then(
          (fence) => fence.reconfirm,
          () => undefined,
        );
      },
    });
    steps.push({
      at: resume,
      run: async () => {
        if (!reconfirm) return;
        try {
          reconfirm();
          acked.push(resume + inFlight); // its local copy is stale: the store's guard lets it in
        } catch {
          // LeaseExpiredError: nothing appended
        }
      },
    });
  }
  const fenceAt = scale(input.fenceAt);
  const unfenceAt = fenceAt + scale(input.unfenceGap);
  steps.push({
    at: fenceAt,
    run: async () => {
      replicas[0]!.cut = true;
      await fencePartition(runbook, PARTITION);
    },
  });
  let firstNew = Number.POSITIVE_INFINITY;
  steps.push({
    at: unfenceAt,
    run: async () => {
      await movePartitionHome(runbook, PARTITION, B);
      const active = await unfencePartition(runbook, PARTITION);
      // B writes at the first instant its clock reads activeFrom, and not a millisecond before.
      const first = active.activeFrom - input.newHomeOffset;
      steps.push(
        {
          at: first - 1,
          run: () =>
            expect(newHome.fenceCoreWrite(PARTITION)).rejects.toMatchObject({ name: 'PartitionFencedError' }),
        },
        {
          at: first,
          run: async () => {
            await newHome.fenceCoreWrite(PARTITION);
            firstNew = first;
          },
        },
      );
    },
  });
  for (let step = next(steps); step; step = next(steps)) {
    t = Math.max(t, step.at);
    await step.run();
  }
  return { acked, firstNew };
}

describe('one writer at a time, whatever the in-flight time and clock skew (property)', () => {
  it("the old home's acknowledged appends all commit before the new home's first write", async () => {
    await fc.assert(
      fc.asyncProperty(timelineArb, async (input) => {
        const { acked, firstNew } = await play(input);
        for (const commit of acked) expect(commit).toBeLessThan(firstNew);
      }),
      { numRuns: 150 },
    );
  });

  it('with unbounded-inflight: a stalled write commits after the new home wrote (a counterexample is found)', async () => {
    const result = await withBug('unbounded-inflight', () =>
      fc.check(
        fc.asyncProperty(timelineArb, async (input) => {
          const { acked, firstNew } = await play(input);
          return acked.every((commit) => commit < firstNew);
        }),
        { numRuns: 300 },
      ),
    );
    expect(result.failed).toBe(true);
  });

  it('with clocks further apart than maxClockOffsetMs: the old and new home overlap', async () => {
    const budget: FencingBudget = {
      leaseMs: 1_000,
      skewMarginMs: 300,
      maxClockOffsetMs: 100,
      appendTimeoutMs: 150,
      quorumCopyTimeoutMs: 1,
    };
    const within = { budget, fenceAt: 0, unfenceGap: 0, runbookOffset: 0, newHomeOffset: 100 };
    // The old home's write is checked 1 ms before its lease ends and its append takes the whole timeout.
    const writes = [{ start: 0, stall: 0.999, inFlight: 1 }];
    const ok = await play({ ...within, writes });
    expect(ok.acked).toEqual([1_149]);
    expect(ok.firstNew).toBe(1_200);
    const beyond = await play({ ...within, writes, newHomeOffset: 200 });
    expect(beyond.acked[0]).toBeGreaterThanOrEqual(beyond.firstNew);
  });
});
