/**
 * Cost per event, counted (not estimated) in the sandbox: every AWS call a function makes goes through the
 * sandbox's IAM layer, which counts it per service, caller (region/function or region/rule) and operation
 * (`sandbox.iam.usageRows()`, the same counters the cost-model test compares with the model). A steady mix
 * of core, important and ordinary writes runs in every region of env dev (real WAN latencies, AWS timers);
 * the calls made between two snapshots are divided by the events the appliers applied meanwhile.
 *
 * - DynamoDB requests per applied event: the applier's requests (stream reads excluded: the event source
 *   mapping's, free in AWS) over the events it applied, per region and overall. Target <= 1.2.
 * - Applier invocations per 1,000 replicated events: the apply rules' Lambda invocations (heartbeats
 *   included: they are part of the steady load) per 1,000 applied events. Target <= 20.
 * - EventBridge entries per written event: the publisher's PutEvents entries and the forwarding rules'
 *   cross-region PutEvents entries.
 * - The ordinary lane against the per-event path: an ordinary-only load (activity appends) in env dev,
 *   where they go through the lane (rule -> SQS -> applier batches), and in env nolane (the same with the
 *   lane off: one invocation per event); the same two figures for each. The lane's load lasts several
 *   batching windows (a steady load, not one window's start-up and tail). Its target figure counts the
 *   lane's own invocations (the event source mapping's) per 1,000 events it applied; the heartbeats'
 *   real-time invocations are a fixed rate per region (peers / heartbeatIntervalMs), reported apart with
 *   the load from which all applier invocations, heartbeats included, stay within the target too. The
 *   mapping's counters give the records of each invocation and how long an event waited in the lane.
 */
import '../lib/sandbox/polyfills.ts';
import { join } from 'node:path';
import { loadApplication } from '../lib/app/index.ts';
import { PROJECT_ROOT } from '../lib/sandbox/cdk/templates.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { type CallTally, sumOf, tallyBetween } from './call-tally.ts';
import { postToRegion } from './region-post.ts';
import { type Figure, round } from './report.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The targets of issue 15. */
const TARGET_DYNAMODB_PER_APPLIED = 1.2;
const TARGET_INVOCATIONS_PER_1000 = 20;

interface Counters {
  applied: number;
  heartbeats: number;
  published: number;
  duplicates: number;
}

function countersOf(sandbox: Sandbox): Map<string, Counters> {
  return new Map(
    sandbox.regions.map((r) => {
      const { applied, heartbeats, published, duplicates } = r.functions.counters;
      return [r.name, { applied, heartbeats, published, duplicates }];
    }),
  );
}

async function post(sandbox: Sandbox, region: string, path: string, body: unknown): Promise<boolean> {
  const status = await postToRegion(sandbox, region, path, body);
  return status >= 200 && status < 300;
}

/** Ordinary writes only (activity appends on ten aggregates per region) in one region until `until`. */
async function writeOrdinary(sandbox: Sandbox, region: string, _account: string, until: number) {
  let written = 0;
  let failed = 0;
  for (let i = 0; Date.now() < until; i++) {
    const ok = await post(sandbox, region, `/v1/activity/lane-${region}-${i % 10}/commands`, {
      type: 'AppendEntry',
      payload: { kind: 'click', message: `m${i}` },
    });
    if (ok) written++;
    else failed++;
    await sleep(20);
  }
  return { written, failed };
}

/** Writes a steady mix (core deposit at the home, profile, activity) in one region until `until`. */
async function writeMix(sandbox: Sandbox, region: string, account: string, until: number) {
  let written = 0;
  let failed = 0;
  for (let i = 0; Date.now() < until; i++) {
    const [path, body] = [
      [`/v1/account/${account}/commands`, { type: 'Deposit', payload: { amount: 1 } }],
      [
        `/v1/profile/cost-${region}-${i % 10}/commands`,
        { type: 'SetDisplayName', payload: { displayName: `n${i}` } },
      ],
      [
        `/v1/activity/cost-${region}-${i % 10}/commands`,
        { type: 'AppendEntry', payload: { kind: 'click', message: `m${i}` } },
      ],
    ][i % 3] as [string, unknown];
    if (await post(sandbox, region, path, body)) written++;
    else failed++;
    await sleep(20);
  }
  return { written, failed };
}

type Load = typeof writeMix;

/** The lane mappings' counters summed over the regions (`Sandbox.laneStats`). */
interface LaneTotals {
  invocations: number;
  records: number;
  firstReceives: number;
  firstWaitMsTotal: number;
  firstWaitMsMax: number;
  /** Records per invocation -> invocations. */
  batchSizes: Map<number, number>;
}

function laneTotalsOf(sandbox: Sandbox): LaneTotals {
  const totals: LaneTotals = {
    invocations: 0,
    records: 0,
    firstReceives: 0,
    firstWaitMsTotal: 0,
    firstWaitMsMax: 0,
    batchSizes: new Map(),
  };
  for (const lane of sandbox.laneStats().filter((s) => s.queue.endsWith('-ordinary-lane'))) {
    totals.invocations += lane.invocations;
    totals.records += lane.records;
    totals.firstReceives += lane.firstReceives;
    totals.firstWaitMsTotal += lane.firstWaitMsTotal;
    totals.firstWaitMsMax = Math.max(totals.firstWaitMsMax, lane.firstWaitMsMax);
    for (const [size, count] of Object.entries(lane.batchSizes))
      totals.batchSizes.set(Number(size), (totals.batchSizes.get(Number(size)) ?? 0) + count);
  }
  return totals;
}

/** What the lanes did between two snapshots (the largest wait is the later snapshot's: a bound, not a delta). */
function laneBetween(before: LaneTotals, after: LaneTotals): LaneTotals {
  const batchSizes = new Map<number, number>();
  for (const [size, count] of after.batchSizes) {
    const delta = count - (before.batchSizes.get(size) ?? 0);
    if (delta > 0) batchSizes.set(size, delta);
  }
  return {
    invocations: after.invocations - before.invocations,
    records: after.records - before.records,
    firstReceives: after.firstReceives - before.firstReceives,
    firstWaitMsTotal: after.firstWaitMsTotal - before.firstWaitMsTotal,
    firstWaitMsMax: after.firstWaitMsMax,
    batchSizes,
  };
}

/** The median of a size -> count histogram. */
function medianOf(histogram: ReadonlyMap<number, number>): number {
  const sizes = [...histogram].sort(([a], [b]) => a - b);
  const total = sizes.reduce((sum, [, count]) => sum + count, 0);
  let seen = 0;
  for (const [size, count] of sizes) {
    seen += count;
    if (seen * 2 >= total) return size;
  }
  return 0;
}

interface Measured {
  regions: readonly string[];
  /** The lane mappings' counters of the window. */
  lane: LaneTotals;
  /** The heartbeat interval and the lane's batching window of the environment. */
  heartbeatIntervalMs: number;
  laneWindowMs: number;
  laneBatchSize: number;
  tallies: CallTally[];
  delta: (region: string, k: keyof Counters) => number;
  total: (k: keyof Counters) => number;
  seconds: number;
  written: number;
  failed: number;
}

/** Runs `load` in every region for `ms`, drains, and returns the calls and counters of the window. */
async function measure(
  sandbox: Sandbox,
  input: { regions: readonly string[]; accounts: readonly string[]; load: Load; ms: number },
): Promise<Measured> {
  const { regions } = input;
  await sandbox.quiesce(10_000);
  const usageBefore = sandbox.iam.usageRows();
  const countersBefore = countersOf(sandbox);
  const laneBefore = laneTotalsOf(sandbox);
  const began = performance.now();
  const until = Date.now() + input.ms;
  const writes = await Promise.all(regions.map((r, i) => input.load(sandbox, r, input.accounts[i]!, until)));
  await sandbox.quiesce(20_000 + sandbox.topology.ordinaryLane.maxBatchingWindowMs);
  const seconds = (performance.now() - began) / 1000;
  const tallies = tallyBetween(usageBefore, sandbox.iam.usageRows());
  const countersAfter = countersOf(sandbox);
  const delta = (region: string, k: keyof Counters) =>
    countersAfter.get(region)![k] - countersBefore.get(region)![k];
  const total = (k: keyof Counters) => regions.reduce((s, r) => s + delta(r, k), 0);
  return {
    regions,
    lane: laneBetween(laneBefore, laneTotalsOf(sandbox)),
    heartbeatIntervalMs: sandbox.topology.thresholds.heartbeatIntervalMs,
    laneWindowMs: sandbox.topology.ordinaryLane.maxBatchingWindowMs,
    laneBatchSize: sandbox.topology.ordinaryLane.batchSize,
    tallies,
    delta,
    total,
    seconds,
    written: writes.reduce((s, w) => s + w.written, 0),
    failed: writes.reduce((s, w) => s + w.failed, 0),
  };
}

/** Starts a sandbox of `application`/`env` and opens one account per region at its own API. */
async function startWithAccounts(application: typeof benchApplication, env: string) {
  const sandbox = await Sandbox.start({ application, env });
  await sleep(1_000);
  const regions = sandbox.regions.map((r) => r.name);
  const accounts = await Promise.all(
    regions.map(async (region) => {
      const id = `cost-${region}`;
      for (let attempt = 0; attempt < 5; attempt++) {
        const ok = await post(sandbox, region, `/v1/account/${id}/commands`, {
          type: 'OpenAccount',
          payload: { owner: id, currency: 'EUR' },
        });
        if (ok) break;
        await sleep(500);
      }
      return id;
    }),
  );
  return { sandbox, regions, accounts };
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandboxes, env dev and nolane). */
export async function runCostBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const window = options.quick ? 5_000 : 15_000;
  const figures: Figure[] = [];
  let lane: Measured;
  let laneMs = window;
  const dev = await startWithAccounts(benchApplication, 'dev');
  try {
    const mixed = await measure(dev.sandbox, { ...dev, load: writeMix, ms: window });
    figures.push(...figuresOf(mixed));
    // Steady load for the lane: several batching windows, so one window's start and the drained tail
    // weigh what they weigh in a long run (4 windows quick, 8 full).
    laneMs = Math.max(
      window,
      (options.quick ? 4 : 8) * dev.sandbox.topology.ordinaryLane.maxBatchingWindowMs,
    );
    lane = await measure(dev.sandbox, { ...dev, load: writeOrdinary, ms: laneMs });
  } finally {
    await dev.sandbox.stop();
  }
  const lanes = await loadApplication(join(PROJECT_ROOT, 'bench', 'apps', 'lanes.config.ts'));
  const nolane = await startWithAccounts(lanes, 'nolane');
  try {
    const perEvent = await measure(nolane.sandbox, { ...nolane, load: writeOrdinary, ms: laneMs });
    figures.push(...laneFigures(lane, perEvent));
  } finally {
    await nolane.sandbox.stop();
  }
  return figures;
}

/**
 * The lane's own figures: its invocations per 1,000 events it applied (the target), how full its batches
 * were, how long an event waited in it, and the heartbeats' fixed share of the applier's invocations.
 */
function laneOnlyFigures(m: Measured): Figure[] {
  const { lane } = m;
  const ref = (figure: string, value: number, unit: string): Figure => ({
    figure,
    value,
    unit,
    target: 'reference',
    met: null,
  });
  const perThousand = (1000 * lane.invocations) / lane.records;
  const sizes = [...lane.batchSizes.keys()];
  const regions = m.regions.length;
  // Each region applies every peer's heartbeats on the real-time path: a rate, not a cost per event.
  const heartbeatsPerRegionSecond = (regions - 1) / (m.heartbeatIntervalMs / 1000);
  const rate = m.total('applied') / regions / m.seconds;
  // With full batches the lane is at its floor (1 / batchSize an event): from which load do the heartbeats'
  // fixed invocations fit beside it in the target?
  const floor = 1 / m.laneBatchSize;
  const breakEven =
    floor < TARGET_INVOCATIONS_PER_1000 / 1000
      ? heartbeatsPerRegionSecond / (TARGET_INVOCATIONS_PER_1000 / 1000 - floor)
      : Number.POSITIVE_INFINITY;
  return [
    ref(
      `ordinary only, through the lane: load (${round(m.seconds)} s with the drain)`,
      round(rate),
      'events/s received per region',
    ),
    ref(`ordinary only, through the lane: batching window (maxBatchingWindowMs)`, m.laneWindowMs, 'ms'),
    {
      figure: `ordinary only, through the lane: lane invocations per 1,000 events it applied (${lane.invocations} invocations, ${lane.records} records)`,
      value: round(perThousand),
      unit: 'invocations',
      target: `<= ${TARGET_INVOCATIONS_PER_1000}`,
      met: perThousand <= TARGET_INVOCATIONS_PER_1000,
    },
    ref(
      'ordinary only, through the lane: records per lane invocation, median',
      medianOf(lane.batchSizes),
      'records',
    ),
    ref(
      `ordinary only, through the lane: records per lane invocation, smallest / largest (${sizes.length > 0 ? Math.min(...sizes) : 0} / ${sizes.length > 0 ? Math.max(...sizes) : 0})`,
      sizes.length > 0 ? Math.max(...sizes) : 0,
      'records',
    ),
    ref(
      'ordinary only, through the lane: wait in the lane (SentTimestamp to invocation), mean',
      round(lane.firstReceives > 0 ? lane.firstWaitMsTotal / lane.firstReceives : 0),
      'ms',
    ),
    ref('ordinary only, through the lane: wait in the lane, largest', lane.firstWaitMsMax, 'ms'),
    ref(
      `ordinary only, through the lane: heartbeat invocations (real time, fixed: ${regions - 1} peers every ${m.heartbeatIntervalMs / 1000} s)`,
      round(heartbeatsPerRegionSecond * 3600),
      'invocations/h per region',
    ),
    ref(
      `ordinary only, through the lane: load from which all applier invocations, heartbeats included, stay <= 20 per 1,000 (batches of ${m.laneBatchSize}: ${round(1000 * floor)} per 1,000 + the heartbeats)`,
      Number.isFinite(breakEven) ? round(breakEven) : -1,
      'events/s received per region',
    ),
  ];
}

/** The two cost figures for ordinary events through the lane and through the per-event path. */
function laneFigures(lane: Measured, perEvent: Measured): Figure[] {
  const figures: Figure[] = [...laneOnlyFigures(lane)];
  for (const [path, m] of [
    ['through the lane', lane],
    ['per-event path (lane off)', perEvent],
  ] as const) {
    const applied = m.total('applied');
    const requests = sumOf(m.tallies, { service: 'dynamodb', fn: 'applier' }) / applied;
    const invocations = sumOf(m.tallies, { service: 'lambda', fn: 'applier' });
    const perThousand = (1000 * invocations) / applied;
    figures.push(
      {
        figure: `ordinary only, ${path}: events applied (${m.written} written, ${m.failed} failed)`,
        value: applied,
        unit: 'events',
        target: 'reference',
        met: null,
      },
      {
        figure: `ordinary only, ${path}: applier DynamoDB requests per applied event`,
        value: round(requests),
        unit: 'requests',
        target: `<= ${TARGET_DYNAMODB_PER_APPLIED}`,
        met: requests <= TARGET_DYNAMODB_PER_APPLIED,
      },
      {
        figure: `ordinary only, ${path}: applier invocations per 1,000 applied events (${invocations}, heartbeats included)`,
        value: round(perThousand),
        unit: 'invocations',
        // Through the lane, the target is the lane's own figure above: the heartbeats' share here is a
        // fixed rate divided by this run's load, so it says as much about the load as about the lane.
        ...(m === lane
          ? { target: 'reference', met: null }
          : { target: `<= ${TARGET_INVOCATIONS_PER_1000}`, met: perThousand <= TARGET_INVOCATIONS_PER_1000 }),
      },
    );
  }
  return figures;
}

function figuresOf(input: Measured): Figure[] {
  const { regions, tallies, delta, total } = input;
  const applied = total('applied');
  const ref = (figure: string, value: number, unit: string): Figure => ({
    figure,
    value: round(value),
    unit,
    target: 'reference',
    met: null,
  });
  const dynamo = (match: Partial<CallTally>) => sumOf(tallies, { service: 'dynamodb', ...match });
  const invocations = sumOf(tallies, { service: 'lambda', fn: 'applier' });
  const perApplied = dynamo({ fn: 'applier' }) / applied;
  const perThousand = (1000 * invocations) / applied;
  const figures: Figure[] = [
    ref(`window (writes in every region, then drained)`, input.seconds, 's'),
    ref('events written (core + important + ordinary, all regions)', input.written, 'events'),
    ref('write rate over the window, all regions', input.written / input.seconds, 'events/s'),
    ref('entries published by the publishers (events and heartbeats)', total('published'), 'entries'),
    ref('events applied by the appliers (all peers)', applied, 'events'),
    ref('heartbeats applied meanwhile', total('heartbeats'), 'heartbeats'),
    {
      figure: 'writes refused or failed',
      value: input.failed,
      unit: 'writes',
      target: '0',
      met: input.failed === 0,
    },
  ];
  for (const region of regions) {
    const value = dynamo({ fn: 'applier', region }) / delta(region, 'applied');
    figures.push({
      figure: `${region}: applier DynamoDB requests per applied event (${delta(region, 'applied')} applied)`,
      value: round(value),
      unit: 'requests',
      target: `<= ${TARGET_DYNAMODB_PER_APPLIED}`,
      met: value <= TARGET_DYNAMODB_PER_APPLIED,
    });
  }
  // Where the requests go, per operation, for the two replication functions (3 decimals: rare calls show).
  for (const [fn, per, denominator] of [
    ['applier', 'applied event', applied],
    ['publisher', 'written event', input.written],
  ] as const) {
    const ops = new Set(
      tallies.filter((t) => t.service === 'dynamodb' && t.fn === fn).map((t) => t.operation),
    );
    for (const operation of [...ops].sort())
      figures.push({
        ...ref(`  ${fn} ${operation} per ${per}`, 0, 'requests'),
        value: round(dynamo({ fn, operation }) / denominator, 3),
      });
  }
  figures.push(
    {
      figure: 'applier DynamoDB requests per applied event, all regions',
      value: round(perApplied),
      unit: 'requests',
      target: `<= ${TARGET_DYNAMODB_PER_APPLIED}`,
      met: perApplied <= TARGET_DYNAMODB_PER_APPLIED,
    },
    ref(
      'publisher DynamoDB requests per written event',
      dynamo({ fn: 'publisher' }) / input.written,
      'requests',
    ),
    ref(
      'API DynamoDB requests per written event (the writes themselves)',
      dynamo({ fn: 'api' }) / input.written,
      'requests',
    ),
    ref(
      'replication DynamoDB requests (publisher + applier + lag monitor) per applied event',
      (dynamo({ fn: 'publisher' }) + dynamo({ fn: 'applier' }) + dynamo({ fn: 'lag-monitor' })) / applied,
      'requests',
    ),
    {
      figure: `applier invocations per 1,000 replicated events (${invocations} invocations, heartbeats included)`,
      value: round(perThousand),
      unit: 'invocations',
      target: `<= ${TARGET_INVOCATIONS_PER_1000}`,
      met: perThousand <= TARGET_INVOCATIONS_PER_1000,
    },
  );
  // Per acknowledged write (one event each); the entries include the heartbeats' (steady overhead).
  const published = input.written;
  const entries = (fn: string) => sumOf(tallies, { service: 'events', fn }, 'items');
  figures.push(
    ref(
      'EventBridge entries per written event: publisher PutEvents',
      entries('publisher') / published,
      'entries',
    ),
    ref(
      'EventBridge entries per written event: cross-region forwarding',
      entries('forward-rule') / published,
      'entries',
    ),
    ref(
      'EventBridge entries per written event, total',
      (entries('publisher') + entries('forward-rule')) / published,
      'entries',
    ),
    ref(
      'EventBridge PutEvents calls per written event (publisher + forwarding)',
      (sumOf(tallies, { service: 'events', fn: 'publisher' }) +
        sumOf(tallies, { service: 'events', fn: 'forward-rule' })) /
        published,
      'calls',
    ),
  );
  return figures;
}
