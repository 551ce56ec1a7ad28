/**
 * Issue 11, scenario 7: fencing depends on in-flight time, so the time a core write spends in flight must
 * be bounded and its lease checked again right before the append (lib/ownership/fencing-budget.ts).
 *
 * Three regions on DynamoDB Local, with VIRTUAL clocks: true time advances only when the test says so;
 * every region's monotonic clock is true time, and B's wall clock runs `maxClockOffsetMs` AHEAD of the
 * runbook's (the worst skew the budget allows). A (the home) is cut off from control-state WRITES, so a
 * fence never reaches its local copy and only its lease stops it (the case the lease exists for).
 * The interleaving that breaks fencing without the re-check:
 *   A takes its lease at t=0 and starts a deposit; the write stalls after its lease check (a slow quorum
 *   copy, a pause); a switchover fences, waits lease + skew (A's lease is over), copies A's log to B, moves
 *   and unfences; B writes as soon as its fast clock allows; then A's stalled append goes through: its
 *   local copy still says "mine", so the store accepts it at the seq B already acknowledged.
 * The switch `unbounded-inflight` removes the re-check.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import {
  type CommandDeps,
  type CommandResult,
  catchUpCoreRow,
  executeCommand,
} from '../../../lib/commands/execute.ts';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  type ControlReplica,
  DynamoControlReplica,
  type FencingBudget,
  fencePartition,
  fencingBudgetIssues,
  movePartitionHome,
  PartitionMap,
  PartitionOwnership,
  partitionOf,
  QuorumRegister,
  type RegisterRecord,
  unfencePartition,
} from '../../../lib/ownership/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import {
  byKey,
  checkCoreTier,
  checkFencing,
  HistoryRecorder,
  pairOperations,
  readSnapshot,
} from '../../../lib/verify/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

const topology = bank.topology('dev');
const registry = createRegistry(exampleAggregates, topology);
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
type Region = (typeof REGIONS)[number];
const [A, B] = REGIONS;

/** Large in ms, since nothing waits for it (virtual time), except the append's real abort timer. */
const BUDGET: FencingBudget = {
  leaseMs: 10_000,
  skewMarginMs: 4_000,
  maxClockOffsetMs: 1_000,
  appendTimeoutMs: 2_000,
  quorumCopyTimeoutMs: 3_000,
};

/** A replica as region `from` reaches it: writes fail while `cut` holds its region (reads still answer). */
class WriteCutReplica implements ControlReplica {
  constructor(
    private readonly inner: ControlReplica,
    private readonly cut: ReadonlySet<string>,
    private readonly from: string,
  ) {}

  get region() {
    return this.inner.region;
  }

  read<V>(key: string) {
    return this.inner.read<V>(key);
  }

  async write<V>(key: string, record: RegisterRecord<V>) {
    if (this.cut.has(this.region) && this.from !== this.region) throw new Error(`${this.region} is cut off`);
    return this.inner.write(key, record);
  }
}

interface Node {
  readonly tables: TestRegion;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly deps: CommandDeps;
}

let t = 0;
let T0 = 0;
const cut = new Set<string>();
/** Runs between the lease check of a region's next core write and its append, once. */
const stall = new Map<string, () => Promise<void>>();
let nodes: Record<Region, Node>;
let runbookMap: PartitionMap;
let history: HistoryRecorder;

beforeEach(async () => {
  t = 0;
  T0 = Date.now();
  cut.clear();
  stall.clear();
  history = new HistoryRecorder(() => t);
  const tables = await Promise.all(REGIONS.map((r) => freshRegion(r)));
  const replicas = REGIONS.map(
    (region, i) =>
      new DynamoControlReplica({ region, client: tables[i]!.doc, tableName: tables[i]!.tables.control }),
  );
  const offset = (region: string) => (region === B ? BUDGET.maxClockOffsetMs : 0);
  const mapOf = (region: string) =>
    new PartitionMap({
      register: new QuorumRegister({
        replicas: replicas.map((replica) => new WriteCutReplica(replica, cut, region)),
        callTimeoutMs: 2_000,
      }),
      leaseMs: BUDGET.leaseMs,
      skewMarginMs: BUDGET.skewMarginMs,
      now: () => T0 + t + offset(region),
    });
  runbookMap = mapOf('runbook');
  nodes = Object.fromEntries(
    REGIONS.map((region, i) => {
      const t_ = tables[i]!;
      const events = new EventStore({
        client: t_.doc,
        tableName: t_.tables.events,
        coreMarkerTableName: t_.tables.replication,
      });
      const states = new StateStore({ client: t_.doc, tableName: t_.tables.state });
      const ownership = new PartitionOwnership({
        region,
        map: mapOf(region),
        local: replicas[i]!,
        controlTable: t_.tables.control,
        now: () => T0 + t + offset(region),
        monotonic: () => t,
        inFlight: BUDGET,
      });
      const deps: CommandDeps = {
        registry,
        events,
        states,
        clock: new HybridLogicalClock({ region, wallClock: () => T0 + t + offset(region) }),
        region,
        partitions: topology.partitions,
        // The pause comes after the lease was taken and before the append (and its re-check): the
        // write is in flight on a lease that may run out meanwhile.
        fenceCoreWrite: async (partition) => {
          const fence = await ownership.fenceCoreWrite(partition);
          const hook = stall.get(region);
          stall.delete(region);
          await hook?.();
          return fence;
        },
      };
      return [region, { tables: t_, events, states, deps }];
    }),
  ) as Record<Region, Node>;
});

afterEach(() => disableAllBugs());

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let clients = 0;
/** Runs a command in a region as a recorded client operation; resolves to the result or the error. */
async function op(region: Region, id: string, command: { f: 'open' | 'deposit'; amount?: number }) {
  const process = `client-${++clients}`;
  const key = `account/${id}`;
  history.record({ process, type: 'invoke', f: command.f, key, value: command.amount ?? null });
  const body =
    command.f === 'open'
      ? { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } }
      : { type: 'Deposit', payload: { amount: command.amount } };
  try {
    const result: CommandResult = await executeCommand(nodes[region].deps, {
      aggregateType: 'account',
      aggregateId: id,
      command: body,
    });
    const balance = (result.state as { balance: number }).balance;
    const eventIds = result.events.map((e) => e.eventId);
    history.record({ process, type: 'ok', f: command.f, key, value: balance, region, eventIds });
    return { ok: true as const, result, at: t };
  } catch (error) {
    const name = (error as Error).name;
    history.record({ process, type: 'fail', f: command.f, key, value: null, error: name, region });
    return { ok: false as const, error: error as Error, at: t };
  }
}

/** What the switchover's watermark check does once the source can no longer write: copy its log. */
async function catchUp(from: Region, to: Region, id: string) {
  const row = await nodes[from].states.getState('account', id);
  if (row) await nodes[to].states.putState(row);
  for (const event of await nodes[from].events.loadStream('account', id))
    await nodes[to].events.appendEvents([event], { tier: 'core' });
}

/** Every region takes the events of `home`'s log it lacks (a seq it holds differently stays out). */
async function converge(home: Region, id: string) {
  const account = registry.get('account');
  for (const region of REGIONS) {
    if (region === home) continue;
    for (const event of await nodes[home].events.loadStream('account', id))
      await nodes[region].events.appendEvents([event], { tier: 'core' }).catch(() => undefined);
    await catchUpCoreRow(nodes[region], account, id);
  }
}

async function anomalies() {
  const regions = await Promise.all(
    REGIONS.map((region) => {
      const { doc, tables } = nodes[region].tables;
      return readSnapshot({ region, doc, tables });
    }),
  );
  const operations = byKey(pairOperations(history.events()));
  return [...checkFencing(regions).anomalies, ...checkCoreTier({ operations, regions }).anomalies].map(
    (a) => `${a.checker}/${a.kind}`,
  );
}

/**
 * A is home; its deposit stalls after its lease check at t=0. A switchover moves the partition to B while
 * A is cut off from control writes; B writes as soon as its (fast) clock lets it; then A's deposit resumes.
 */
async function staleWriteScenario() {
  expect(fencingBudgetIssues(BUDGET)).toEqual([]);
  const id = `inflight-${process.pid}-${++clients}`;
  const partition = partitionOf(id, topology.partitions);
  expect((await op(A, id, { f: 'open' })).ok).toBe(true);
  const stalled = deferred();
  const resume = deferred();
  stall.set(A, async () => {
    stalled.resolve();
    await resume.promise;
  });
  const atA = op(A, id, { f: 'deposit', amount: 5 });
  await stalled.promise;

  cut.add(A);
  t = 10;
  await fencePartition(runbookMap, partition);
  t += BUDGET.leaseMs + BUDGET.skewMarginMs; // CheckWatermark: the lease A may hold is over
  await catchUp(A, B, id);
  await movePartitionHome(runbookMap, partition, B);
  const active = await unfencePartition(runbookMap, partition);
  t = active.activeFrom - T0 - BUDGET.maxClockOffsetMs; // B's clock reads activeFrom already
  const atB = await op(B, id, { f: 'deposit', amount: 7 });

  resume.resolve();
  return { atA: await atA, atB, id };
}

describe('core writes in flight past their lease (issue 11, scenario 7)', () => {
  it('refuses the stalled write of the old home (its lease ran out in flight): one writer per seq', async () => {
    const { atA, atB, id } = await staleWriteScenario();

    expect(atB).toMatchObject({ ok: true });
    // Refused with LeaseExpiredError; decided again on a fresh lease, which names the new home (the API
    // would forward it there now).
    expect(atA).toMatchObject({ ok: false, error: { name: 'NotHomeError', home: B } });
    expect(await nodes[A].events.loadStream('account', id)).toHaveLength(1);
    await converge(B, id);
    expect(await anomalies()).toEqual([]);
  });

  it('with unbounded-inflight: accepts the stalled write at the seq the new home acknowledged (forked log)', async () => {
    const { atA, atB, id } = await withBug('unbounded-inflight', staleWriteScenario);

    expect(atB).toMatchObject({ ok: true });
    expect(atA).toMatchObject({ ok: true });
    if (atA.ok && atB.ok) expect(atA.result.events[0]!.seq).toBe(atB.result.events[0]!.seq);
    await converge(B, id);
    expect(await anomalies()).toEqual(expect.arrayContaining(['fencing/forked-log', 'core/lost-write']));
  });

  it('keeps the windows apart at the edges of the budget: last append on the lease, slowest append, fastest clock', async () => {
    const id = `edges-${process.pid}-${++clients}`;
    const partition = partitionOf(id, topology.partitions);
    expect((await op(A, id, { f: 'open' })).ok).toBe(true); // A's lease read starts at t=0
    const stalled = deferred();
    const resume = deferred();
    stall.set(A, async () => {
      stalled.resolve();
      await resume.promise;
    });
    const atA = op(A, id, { f: 'deposit', amount: 5 });
    await stalled.promise;
    cut.add(A);
    t = 10;
    await fencePartition(runbookMap, partition);
    // A's write is checked 1 ms before its lease ends, then its append takes the whole SDK timeout.
    t = BUDGET.leaseMs - 1;
    const append = nodes[A].events.appendEvents.bind(nodes[A].events);
    nodes[A].events.appendEvents = async (events, options) => {
      t += BUDGET.appendTimeoutMs;
      return append(events, options);
    };
    resume.resolve();
    const acknowledged = await atA;
    expect(acknowledged).toMatchObject({ ok: true, at: BUDGET.leaseMs - 1 + BUDGET.appendTimeoutMs });

    t = 10 + BUDGET.leaseMs + BUDGET.skewMarginMs;
    await catchUp(A, B, id);
    await movePartitionHome(runbookMap, partition, B);
    const active = await unfencePartition(runbookMap, partition);
    const firstAllowed = active.activeFrom - T0 - BUDGET.maxClockOffsetMs;
    t = firstAllowed - 1;
    expect(await op(B, id, { f: 'deposit', amount: 1 })).toMatchObject({
      ok: false,
      error: { name: 'PartitionFencedError' },
    });
    t = firstAllowed;
    const first = await op(B, id, { f: 'deposit', amount: 7 });

    expect(first).toMatchObject({ ok: true, result: { state: { balance: 12 } } });
    expect(acknowledged.at).toBeLessThan(first.at);
    await converge(B, id);
    expect(await anomalies()).toEqual([]);
  });
});
