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
 *   lane off: one invocation per event); the same two figures for each.
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

interface Measured {
  regions: readonly string[];
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
  const began = performance.now();
  const until = Date.now() + input.ms;
  const writes = await Promise.all(regions.map((r, i) => input.load(sandbox, r, input.accounts[i]!, until)));
  await sandbox.quiesce(20_000);
  const seconds = (performance.now() - began) / 1000;
  const tallies = tallyBetween(usageBefore, sandbox.iam.usageRows());
  const countersAfter = countersOf(sandbox);
  const delta = (region: string, k: keyof Counters) =>
    countersAfter.get(region)![k] - countersBefore.get(region)![k];
  const total = (k: keyof Counters) => regions.reduce((s, r) => s + delta(r, k), 0);
  return {
    regions,
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
  const dev = await startWithAccounts(benchApplication, 'dev');
  try {
    const mixed = await measure(dev.sandbox, { ...dev, load: writeMix, ms: window });
    figures.push(...figuresOf(mixed));
    lane = await measure(dev.sandbox, { ...dev, load: writeOrdinary, ms: window });
  } finally {
    await dev.sandbox.stop();
  }
  const lanes = await loadApplication(join(PROJECT_ROOT, 'bench', 'apps', 'lanes.config.ts'));
  const nolane = await startWithAccounts(lanes, 'nolane');
  try {
    const perEvent = await measure(nolane.sandbox, { ...nolane, load: writeOrdinary, ms: window });
    figures.push(...laneFigures(lane, perEvent));
  } finally {
    await nolane.sandbox.stop();
  }
  return figures;
}

/** The two cost figures for ordinary events through the lane and through the per-event path. */
function laneFigures(lane: Measured, perEvent: Measured): Figure[] {
  const figures: Figure[] = [];
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
        target: `<= ${TARGET_INVOCATIONS_PER_1000}`,
        met: perThousand <= TARGET_INVOCATIONS_PER_1000,
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
