/**
 * Transfers between accounts homed in different regions, in the sandbox with real inter-region latencies:
 * latency of `POST /v1/transfers?wait=true` sent by a client in the source account's home region, per
 * ordered region pair, as a ratio to the round trips the saga must cross (the physical floor: the credit
 * at the target's home, one RTT source <-> target; the hold, the decision and the debit are local writes at
 * the source's home, where the transfer is co-located), then transfers per second with concurrent clients.
 */
import '../lib/sandbox/polyfills.ts';
import { loadavg } from 'node:os';
import { partitionOf } from '../lib/ownership/index.ts';
import type { ApiClient } from '../lib/sandbox/auth/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { type Figure, percentile, round } from './report.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Outcome {
  readonly ms: number;
  readonly status: string;
  /** Wall clock (epoch ms) when the request was sent and when its answer came back. */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly transferId?: string;
}

async function post(
  client: ApiClient,
  url: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await client.fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Opens funded accounts homed in `region` (fresh partitions are claimed by the region that writes first). */
async function openAccounts(sandbox: Sandbox, region: string, count: number, tag: string): Promise<string[]> {
  const url = sandbox.region(region).apiUrl;
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) {
    const id = `bench-${tag}-${region}-${n}`;
    const partition = partitionOf(id, sandbox.topology.partitions);
    // No majority answered in time (a loaded machine): try the next id.
    const entry = await sandbox
      .region(region)
      .multiRegion.map.read(partition)
      .catch(() => undefined);
    if (entry === undefined || (entry && entry.home !== region)) continue;
    const opened = await post(sandbox.apiClient, url, `/v1/account/${id}/commands`, {
      type: 'OpenAccount',
      payload: { owner: id, currency: 'EUR' },
    });
    if (opened.status !== 200) continue;
    await post(sandbox.apiClient, url, `/v1/account/${id}/commands`, {
      type: 'Deposit',
      payload: { amount: 1_000_000 },
    });
    ids.push(id);
  }
  return ids;
}

const ENDED = new Set(['confirmed', 'cancelled']);

/**
 * One transfer, start to end: `?wait=true`, and when it answers 202 (not ended within the wait, as on a
 * loaded machine), the transfer is read at the same region until it has ended.
 */
async function transfer(client: ApiClient, url: string, body: Record<string, unknown>): Promise<Outcome> {
  const started = performance.now();
  const sentAt = Date.now();
  const answer = await post(client, url, '/v1/transfers?wait=true', body).catch(() => ({
    status: 0,
    body: {} as Record<string, unknown>,
  }));
  let status =
    answer.status === 200 || answer.status === 202 ? String(answer.body.status) : `http ${answer.status}`;
  const deadline = Date.now() + 60_000;
  while (answer.status === 202 && !ENDED.has(status) && Date.now() < deadline) {
    await sleep(50);
    const read = await client
      .fetch(`${url}/v1/transfers/${String(answer.body.transferId)}`)
      .catch(() => null);
    if (read?.ok) status = String(((await read.json()) as { status?: unknown }).status);
  }
  const id = answer.body.transferId;
  return {
    ms: performance.now() - started,
    status,
    sentAt,
    answeredAt: Date.now(),
    ...(typeof id === 'string' ? { transferId: id } : {}),
  };
}

/** Where a transfer's time goes, from its Saga execution's history (named by the transfer id). */
type Step = 'begin' | 'Try' | 'Decide' | 'Confirm' | 'answer';
const STEPS: readonly Step[] = ['begin', 'Try', 'Decide', 'Confirm', 'answer'];
const STEP_MEANING: Readonly<Record<Step, string>> = {
  begin: 'request sent -> execution started (routing, lease, dry run, begin append, StartExecution)',
  Try: 'Try task (hold at the source home, recorded)',
  Decide: 'Decide task (the decision, recorded)',
  Confirm: 'Confirm task (settle at the source, credit forwarded to the target home, both recorded)',
  answer: 'Confirm done -> answer received (the ?wait poll sees the end)',
};

function stepsOf(sandbox: Sandbox, outcome: Outcome): Partial<Record<Step, number>> | undefined {
  if (!outcome.transferId || outcome.status !== 'confirmed') return undefined;
  const execution = sandbox.describeExecutions().find((e) => e.name === outcome.transferId);
  if (!execution) return undefined;
  const at = (type: string, state: string) =>
    sandbox
      .executionHistory(execution.executionArn)
      .find(
        (e) =>
          e.type === type && (e.stateEnteredEventDetails?.name ?? e.stateExitedEventDetails?.name) === state,
      )
      ?.timestamp?.getTime();
  const steps: Partial<Record<Step, number>> = { begin: Date.parse(execution.startDate) - outcome.sentAt };
  for (const state of ['Try', 'Decide', 'Confirm'] as const) {
    const entered = at('TaskStateEntered', state);
    const exited = at('TaskStateExited', state);
    if (entered !== undefined && exited !== undefined) steps[state] = exited - entered;
  }
  const confirmed = at('TaskStateExited', 'Confirm');
  if (confirmed !== undefined) steps.answer = outcome.answeredAt - confirmed;
  return steps;
}

function stepFigures(sandbox: Sandbox, outcomes: readonly Outcome[]): Figure[] {
  const breakdowns = outcomes.flatMap((o) => stepsOf(sandbox, o) ?? []);
  return STEPS.map((step) => ({
    figure: `per step p50, all pairs (${breakdowns.length} transfers): ${step}: ${STEP_MEANING[step]}`,
    value: round(
      percentile(
        breakdowns.flatMap((b) => b[step] ?? []),
        50,
      ),
      0,
    ),
    unit: 'ms',
    target: 'reference',
    met: null,
  }));
}

/** DynamoDB calls of every region (all of them: also heartbeats, appliers, leases) and their time. */
interface CallStats {
  calls: number;
  ms: number;
}

function countCalls(sandbox: Sandbox): CallStats {
  const stats: CallStats = { calls: 0, ms: 0 };
  for (const region of sandbox.regions) {
    region.clients.doc.middlewareStack.add(
      (next) => async (args) => {
        const started = performance.now();
        try {
          return await next(args);
        } finally {
          stats.calls++;
          stats.ms += performance.now() - started;
        }
      },
      { step: 'initialize', name: 'benchCallCounter' },
    );
  }
  return stats;
}

/** One ordered pair: `samples` transfers one after the other, source home -> target home. */
async function measurePair(
  sandbox: Sandbox,
  input: { from: string; to: string; sources: string[]; targets: string[]; samples: number; tag: string },
): Promise<Outcome[]> {
  const url = sandbox.region(input.from).apiUrl;
  const outcomes: Outcome[] = [];
  for (let i = -1; i < input.samples; i++) {
    const outcome = await transfer(sandbox.apiClient, url, {
      from: input.sources[Math.abs(i) % input.sources.length],
      to: input.targets[Math.abs(i) % input.targets.length],
      amount: 1,
      idempotencyKey: `${input.tag}-${input.from}-${input.to}-${i}`,
    });
    if (i >= 0) outcomes.push(outcome); // the first one warms up leases and the machine's validation
  }
  return outcomes;
}

function pairFigures(sandbox: Sandbox, from: string, to: string, outcomes: readonly Outcome[]): Figure[] {
  const { wan, timing } = sandbox;
  const rtt = (wan.link(from, to).latencyMs + wan.link(to, from).latencyMs) * timing.wanTimeScale;
  const ok = outcomes.filter((o) => o.status === 'confirmed').map((o) => o.ms);
  const p50 = percentile(ok, 50);
  const p99 = percentile(ok, 99);
  return [
    {
      figure: `transfer ${from} -> ${to}: latency p50 (${ok.length}/${outcomes.length} confirmed)`,
      value: round(p50, 0),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: `transfer ${from} -> ${to}: latency p99`,
      value: round(p99, 0),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: `transfer ${from} -> ${to}: floor (1 RTT ${from} <-> ${to})`,
      value: round(rtt, 0),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: `transfer ${from} -> ${to}: p50 / floor`,
      value: round(p50 / rtt),
      unit: 'x',
      target: '<= 2',
      met: p50 / rtt <= 2,
    },
    {
      figure: `transfer ${from} -> ${to}: p99 / floor`,
      value: round(p99 / rtt),
      unit: 'x',
      target: 'reference',
      met: null,
    },
  ];
}

/** Concurrent clients, each at its own source account's home, crediting accounts of the other regions. */
async function throughput(
  sandbox: Sandbox,
  input: { accounts: Record<string, string[]>; clients: number; ms: number; tag: string },
): Promise<{ outcomes: Outcome[]; seconds: number }> {
  const names = Object.keys(input.accounts);
  const outcomes: Outcome[] = [];
  const started = performance.now();
  const until = Date.now() + input.ms;
  await Promise.all(
    Array.from({ length: input.clients }, async (_, c) => {
      const home = names[c % names.length]!;
      const others = names.filter((n) => n !== home);
      const from = input.accounts[home]![Math.floor(c / names.length) % input.accounts[home]!.length]!;
      for (let i = 0; Date.now() < until; i++) {
        const targets = input.accounts[others[i % others.length]!]!;
        outcomes.push(
          await transfer(sandbox.apiClient, sandbox.region(home).apiUrl, {
            from,
            to: targets[i % targets.length],
            amount: 1,
            idempotencyKey: `${input.tag}-tp-${c}-${i}`,
          }),
        );
      }
    }),
  );
  return { outcomes, seconds: (performance.now() - started) / 1_000 };
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runTransfersBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  // Real WAN latencies; holds long enough that no measured transfer can expire on a loaded machine.
  const loadBefore = loadavg()[0]!;
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 1, sagaHoldMs: 120_000 },
  });
  try {
    const tag = Date.now().toString(36);
    const names = sandbox.regions.map((r) => r.name);
    const clients = options.quick ? 6 : 12;
    const accounts = Object.fromEntries(
      await Promise.all(
        names.map(async (r) => [r, await openAccounts(sandbox, r, clients / names.length + 2, tag)] as const),
      ),
    );
    await sleep(1_000);
    const calls = countCalls(sandbox);
    const figures: Figure[] = [];
    const all: Outcome[] = [];
    let worst = 0;
    let measured = 0;
    for (const from of names) {
      for (const to of names.filter((n) => n !== from)) {
        const outcomes = await measurePair(sandbox, {
          from,
          to,
          sources: accounts[from]!,
          targets: accounts[to]!,
          samples: options.quick ? 5 : 30,
          tag,
        });
        measured += outcomes.length + 1;
        all.push(...outcomes);
        const pair = pairFigures(sandbox, from, to, outcomes);
        worst = Math.max(worst, pair[3]!.value);
        figures.push(...pair);
      }
    }
    // Why the sandbox is above the floor: DynamoDB Local calls on the critical path, and how long each takes.
    figures.push(
      {
        figure: 'DynamoDB calls per transfer, all regions (background traffic included)',
        value: round(calls.calls / measured, 1),
        unit: 'calls',
        target: 'reference',
        met: null,
      },
      {
        figure: 'mean DynamoDB Local call latency meanwhile',
        value: round(calls.ms / Math.max(1, calls.calls), 1),
        unit: 'ms',
        target: 'reference',
        met: null,
      },
    );
    figures.push(...stepFigures(sandbox, all));
    figures.push({
      figure: 'transfer latency p50 / floor, worst pair',
      value: worst,
      unit: 'x',
      target: '<= 2',
      met: worst <= 2,
    });
    const load = await throughput(sandbox, { accounts, clients, ms: options.quick ? 5_000 : 20_000, tag });
    const confirmed = load.outcomes.filter((o) => o.status === 'confirmed');
    const okMs = confirmed.map((o) => o.ms);
    figures.push(
      {
        figure: `transfers per second (${clients} concurrent clients, cross-region, confirmed)`,
        value: round(confirmed.length / load.seconds, 1),
        unit: 'transfers/s',
        target: 'reference',
        met: null,
      },
      {
        figure: 'transfer latency under that load p50',
        value: round(percentile(okMs, 50), 0),
        unit: 'ms',
        target: 'reference',
        met: null,
      },
      {
        figure: 'transfer latency under that load p99',
        value: round(percentile(okMs, 99), 0),
        unit: 'ms',
        target: 'reference',
        met: null,
      },
      {
        figure: `transfers not confirmed under load (of ${load.outcomes.length})`,
        value: load.outcomes.length - confirmed.length,
        unit: 'transfers',
        target: '0',
        met: load.outcomes.length === confirmed.length,
      },
    );
    // The machine is shared: what else ran meanwhile shows in the load average (2 cores here).
    figures.push(
      {
        figure: 'load average (1 min) before the run',
        value: round(loadBefore, 1),
        unit: '',
        target: 'reference',
        met: null,
      },
      {
        figure: 'load average (1 min) after the run',
        value: round(loadavg()[0]!, 1),
        unit: '',
        target: 'reference',
        met: null,
      },
    );
    return figures;
  } finally {
    await sandbox.stop();
  }
}
