import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Application, loadApplication } from '../../lib/app/index.ts';
import { regionNames } from '../../lib/config/index.ts';
import { compareCounts, measuredCounts, modelCounts } from '../../lib/cost/measured.ts';
import { modelWorkload } from '../../lib/cost/model.ts';
import { parseProfile } from '../../lib/cost/profile.ts';
import { sandboxRuntime } from '../../lib/cost/runtime.ts';
import { sagaShapes } from '../../lib/cost/sagas.ts';
import { partitionOf } from '../../lib/ownership/index.ts';
import { seededRandom } from '../../lib/sandbox/chaos/random.ts';
import type { CallUsageRow } from '../../lib/sandbox/iam/usage.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { BANK_CONFIG } from '../support/bank.ts';

/**
 * The cost model against the sandbox. The sandbox counts every AWS call its functions make (the IAM
 * layer's counters, `CallUsageRow`); a fixed workload runs for WORKLOAD_MS on the prod topology
 * (core.ack quorum) and the model predicts, from the same workload and the sandbox's timers, the
 * requests per service and function over the same window. They must agree within 10 %.
 *
 * The sandbox's timers are shortened (health checks every 2 s, watchdog ticks every second, heartbeats
 * every second) so that every background function makes enough calls in the window for its count not to
 * hang on where the window falls; the model takes the same timers (`sandboxRuntime`).
 */
const WORKLOAD_MS = 30_000;
const DRAIN_MS = 4_000;
/** Per region and second: writes of each type, and reads of profiles. */
const RATE = { account: 1, profile: 1, activity: 1, read: 1 } as const;
/** Share of core writes a client sends to a region that is not the account's home (forwarded there). */
const FORWARD_SHARE = 0.25;
const ACCOUNTS = 12;
const PER_REGION_IDS = 6;

let sandbox: Sandbox;
/** The application the sandbox runs: the model prices its sagas. */
let application: Application;

beforeAll(async () => {
  application = await loadApplication(BANK_CONFIG);
  sandbox = await Sandbox.start({
    application,
    env: 'prod',
    fast: true,
    timing: { awsTimeScale: 0.2, heartbeatIntervalMs: 1_000 },
  });
}, 480_000);

afterAll(async () => {
  await sandbox?.stop();
}, 120_000);

async function send(
  region: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; region: string; error: string | undefined }> {
  const response = await sandbox.apiClient.fetch(`${sandbox.region(region).apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    followRedirects: false,
  });
  const text = await response.text();
  let error: string | undefined;
  try {
    error = (JSON.parse(text) as { error?: string }).error;
  } catch {
    error = undefined;
  }
  return {
    status: response.status,
    region: response.headers.get('x-multiactive-region') ?? region,
    error,
  };
}

/** Accounts in distinct partitions, opened round-robin (so homed evenly), and each region's own ids. */
async function seed(regions: readonly string[]) {
  const partitions = new Set<number>();
  const accounts: Array<{ id: string; home: string }> = [];
  for (let i = 0; accounts.length < ACCOUNTS; i++) {
    const id = `cm-acc-${i}`;
    const partition = partitionOf(id, sandbox.topology.partitions);
    if (partitions.has(partition)) continue;
    partitions.add(partition);
    const region = regions[accounts.length % regions.length]!;
    // A partition claimed just now answers 503 until its first home's hold has passed: the client retries.
    // A retry answered 422 (AccountAlreadyOpen) finds the account an earlier attempt opened while its
    // answer timed out (a loaded machine): the home answered, and that is what is needed here.
    let opened = { status: 0, region, error: undefined as string | undefined };
    for (let attempt = 0; attempt < 20 && opened.status !== 200; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      opened = await send(region, `/v1/account/${id}/commands`, {
        type: 'OpenAccount',
        payload: { owner: 'Cost', currency: 'EUR' },
      });
      if (attempt > 0 && opened.error === 'AccountAlreadyOpen') break;
    }
    expect(opened.status === 200 || opened.error === 'AccountAlreadyOpen', JSON.stringify(opened)).toBe(true);
    accounts.push({ id, home: opened.region });
  }
  const own = (prefix: string, region: string) =>
    Array.from({ length: PER_REGION_IDS }, (_, j) => `cm-${prefix}-${region}-${j}`);
  for (const region of regions) {
    for (const id of own('p', region))
      await send(region, `/v1/profile/${id}/commands`, {
        type: 'SetDisplayName',
        payload: { displayName: id },
      });
    for (const id of own('a', region))
      await send(region, `/v1/activity/${id}/commands`, {
        type: 'AppendEntry',
        payload: { kind: 'seed', message: id },
      });
  }
  return { accounts, own };
}

interface Sent {
  account: number;
  forwarded: number;
  profile: number;
  activity: number;
  read: number;
  failed: number;
}

/** One request of a region's clients. */
async function request(input: {
  kind: keyof typeof RATE;
  region: string;
  accounts: ReadonlyArray<{ id: string; home: string }>;
  own: (prefix: string, region: string) => string[];
  next: () => number;
  sent: Sent;
}): Promise<{ status: number }> {
  const { kind, region, accounts, own, next, sent } = input;
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  sent[kind]++;
  if (kind === 'account') {
    const forward = next() < FORWARD_SHARE;
    const account = pick(accounts.filter((a) => (a.home === region) !== forward));
    if (forward) sent.forwarded++;
    return send(region, `/v1/account/${account.id}/commands`, { type: 'Deposit', payload: { amount: 1 } });
  }
  if (kind === 'profile')
    return send(region, `/v1/profile/${pick(own('p', region))}/commands`, {
      type: 'SetDisplayName',
      payload: { displayName: `n${sent.profile}` },
    });
  if (kind === 'activity')
    return send(region, `/v1/activity/${pick(own('a', region))}/commands`, {
      type: 'AppendEntry',
      payload: { kind: 'k', message: `m${sent.activity}` },
    });
  return send(region, `/v1/profile/${pick(own('p', region))}`);
}

/**
 * One region's clients for WORKLOAD_MS, open loop: requests arrive independently (exponential gaps, RATE
 * of each kind a second on average) whatever the answers take, as a crowd of users does, and as the model
 * takes traffic to be (Poisson).
 */
async function drive(input: Omit<Parameters<typeof request>[0], 'kind'>): Promise<void> {
  const { next, sent } = input;
  const kinds = Object.keys(RATE) as Array<keyof typeof RATE>;
  const total = kinds.reduce((n, k) => n + RATE[k], 0);
  const started = Date.now();
  const inFlight: Promise<void>[] = [];
  for (let at = -Math.log(1 - next()) / total; at * 1000 < WORKLOAD_MS; at += -Math.log(1 - next()) / total) {
    const draw = next() * total;
    const kind = kinds.find((_, i) => draw < kinds.slice(0, i + 1).reduce((n, k) => n + RATE[k], 0))!;
    await new Promise((r) => setTimeout(r, Math.max(0, started + at * 1000 - Date.now())));
    inFlight.push(
      request({ ...input, kind }).then((result) => {
        if (result.status !== 200) sent.failed++;
      }),
    );
  }
  await Promise.all(inFlight);
}

const byKey = (rows: readonly CallUsageRow[]) =>
  new Map(rows.map((r) => [`${r.service}\u0000${r.caller}\u0000${r.operation}`, r]));

/** The calls made between two snapshots. */
function between(before: readonly CallUsageRow[], after: readonly CallUsageRow[]): CallUsageRow[] {
  const earlier = byKey(before);
  return after.map((row) => {
    const was = earlier.get(`${row.service}\u0000${row.caller}\u0000${row.operation}`);
    return { ...row, requests: row.requests - (was?.requests ?? 0), items: row.items - (was?.items ?? 0) };
  });
}

describe('the cost model against the sandbox (prod topology, fixed workload)', () => {
  it('predicts the requests the sandbox counts per service and per function within 10 %', async () => {
    const regions = regionNames(sandbox.topology);
    const { accounts, own } = await seed(regions);
    // Everything the seeding replicated has landed before the window opens.
    await new Promise((r) => setTimeout(r, 5_000));
    const sent: Sent = { account: 0, forwarded: 0, profile: 0, activity: 0, read: 0, failed: 0 };
    const before = sandbox.iam.usageRows();
    const t0 = performance.now();
    await Promise.all(
      regions.map((region, i) => drive({ region, accounts, own, next: seededRandom(7 + i), sent })),
    );
    await new Promise((r) => setTimeout(r, DRAIN_MS));
    const seconds = (performance.now() - t0) / 1000;
    const calls = between(before, sandbox.iam.usageRows());

    const rate = (n: number) => n / seconds;
    const profile = parseProfile(
      {
        name: 'sandbox workload',
        aggregates: {
          account: { writesPerSecond: rate(sent.account), readsPerSecond: 0 },
          profile: { writesPerSecond: rate(sent.profile), readsPerSecond: rate(sent.read) },
          activity: { writesPerSecond: rate(sent.activity), readsPerSecond: 0 },
        },
        activePartitions: ACCOUNTS,
        coreForwardShare: sent.forwarded / sent.account,
        newAggregateShare: 0,
      },
      sandbox.topology,
      sagaShapes(application.sagas),
      'sandbox workload',
    );
    const runtime = sandboxRuntime(sandbox.topology, sandbox.timing, sagaShapes(application.sagas));
    const model = modelCounts(modelWorkload(sandbox.topology, profile, runtime).usage, seconds);
    const measured = measuredCounts(calls);
    const perService = compareCounts(model, measured, 'service');
    const perFunction = compareCounts(model, measured, 'function');
    console.log(
      [
        `window ${seconds.toFixed(1)} s, sent ${JSON.stringify(sent)}`,
        ...[...perService, ...perFunction].map(
          (c) =>
            `${c.key.padEnd(28)} model ${c.model.toFixed(0).padStart(6)}  sandbox ${String(c.measured).padStart(6)}  ${(100 * c.deviation).toFixed(1)} %`,
        ),
      ].join('\n'),
    );
    // A core write can time out (503) on a loaded machine; a few do not change the counts that matter.
    expect(sent.failed).toBeLessThan(0.03 * (sent.account + sent.profile + sent.activity + sent.read));
    expect(perService.map((c) => c.key)).toEqual(['dynamodb', 'events', 'lambda']);
    // A function with a few dozen requests in the window (the once-a-minute watchdog schedule) counts in
    // its service's total; its own count depends on where the window falls.
    const compared = [...perService, ...perFunction.filter((c) => Math.max(c.model, c.measured) >= 30)];
    expect(compared.length).toBeGreaterThanOrEqual(14);
    for (const c of compared) {
      expect(c.measured, c.key).toBeGreaterThan(0);
      expect(
        Math.abs(c.deviation),
        `${c.key}: model ${c.model.toFixed(0)}, sandbox ${c.measured}`,
      ).toBeLessThan(0.1);
    }
  }, 480_000);
});
