import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { A, B, type BranchWorld, branchWorld, C, runRepair } from './branch-cells.ts';

/**
 * DESIGN.md invariant 6 on real stores, applier and Repair tasks: old home A and new home B write two
 * branches of one account after a common prefix; C receives a random interleaving of both branches (with
 * duplicates). After every delivery C's log and row hold one branch only (a chained prefix of A's or of
 * B's log); once B's branch is fully delivered and Repair ran, every region's log and row equal B's.
 */
const RUNS = Number(process.env.CHAIN_PROPERTY_RUNS ?? 12);
let world: BranchWorld;

beforeAll(async () => {
  world = await branchWorld(B);
});

const scenarioArb = fc.record({
  prefix: fc.integer({ min: 0, max: 2 }),
  oldBranch: fc.integer({ min: 1, max: 3 }),
  newBranch: fc.integer({ min: 1, max: 3 }),
  /** Delivery order to C: indexes into both branches (taken modulo their length), then the rest in order. */
  order: fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
  duplicates: fc.array(fc.nat(), { maxLength: 3 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const ids = (events: readonly EventEnvelope[]) => events.map((e) => e.eventId);

/** True when `log` is a chain (each event's prev is the one before) that is a prefix of `branch`. */
function chainedPrefixOf(log: readonly EventEnvelope[], branch: readonly EventEnvelope[]): boolean {
  return log.every(
    (e, i) => e.eventId === branch[i]?.eventId && e.prev === (i === 0 ? null : log[i - 1]!.hlc),
  );
}

async function run(scenario: Scenario): Promise<void> {
  const { id, partition } = await world.account('prop', A);
  const base = await world.write(A, id, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } });
  for (let i = 0; i < scenario.prefix; i++)
    base.push(...(await world.write(A, id, { type: 'Deposit', payload: { amount: 1 + i } })));
  for (const region of [B, C]) await world.deliver(region, base);
  const old: EventEnvelope[] = [];
  for (let i = 0; i < scenario.oldBranch; i++)
    old.push(...(await world.write(A, id, { type: 'Deposit', payload: { amount: 10 + i } })));
  await world.move(partition, A, B);
  const fresh: EventEnvelope[] = [];
  for (let i = 0; i < scenario.newBranch; i++)
    fresh.push(...(await world.write(B, id, { type: 'Deposit', payload: { amount: 100 + i } })));
  const oldLog = [...base, ...old];
  const newLog = [...base, ...fresh];
  const both = [...old, ...fresh];
  const picked = scenario.order.map((n) => both[n % both.length]!);
  const schedule = [...picked, ...fresh, ...scenario.duplicates.map((n) => both[n % both.length]!)];
  const c = world.cells[C]!;
  for (const event of schedule) {
    await world.deliver(C, [event]);
    const log = await c.events.loadStream('account', id);
    expect(chainedPrefixOf(log, oldLog) || chainedPrefixOf(log, newLog)).toBe(true);
    const row = await c.states.getState('account', id);
    expect({ seq: row?.seq, head: row?.head }).toEqual({ seq: log.length, head: log.at(-1)?.hlc });
  }
  await runRepair(world, { partitions: [partition], peers: [A, B, C] });
  const home = await world.cells[B]!.states.getState('account', id);
  for (const region of [A, C]) {
    const cell = world.cells[region]!;
    expect(ids(await cell.events.loadStream('account', id))).toEqual(ids(newLog));
    const row = await cell.states.getState('account', id);
    expect({ ...row, updatedAt: '' }).toEqual({ ...home, updatedAt: '' });
    expect(await cell.parking.parked('account', id, 0)).toEqual([]);
  }
}

describe('chain rule (property, DynamoDB Local)', () => {
  it("never joins two branches at a replica, and Repair puts every region on the home's branch", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), { numRuns: RUNS });
  }, 300_000);

  it('finds a joined replica when the unchained-fold switch is on', async () => {
    const result = await withBug('unchained-fold', () =>
      fc.check(fc.asyncProperty(scenarioArb, run), { numRuns: RUNS, endOnFailure: true }),
    );
    expect(result.failed).toBe(true);
  }, 300_000);
});
