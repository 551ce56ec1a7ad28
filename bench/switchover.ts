/**
 * Planned switchover under load, with real WAN latencies (other timers `fast`: lease 2 s, skew margin
 * 300 ms, Wait states x0.02). Clients near us-east-1 write through the front door to accounts (core),
 * profiles (important) and activity (ordinary), one of each per account; every account's partition is homed
 * in us-east-1 and the Switchover state machine moves all of us-east-1's partitions to eu-west-1 while they
 * write. Profiles and activity share the accounts' partitions (so important and ordinary writes keep landing
 * in the moved partitions; CheckWatermark waits only for those stamped before the fence); `sharedPartitions:
 * false` puts them in partitions of their own. Core is written by probes (bench/core-probes.ts): a
 * deposit to each partition every PROBE.intervalMs, at most PROBE.maxInFlight at once (each in flight on
 * an account of its own, so that probes do not contend), each recorded with the time it was sent; a
 * partition's unavailability is the time during which a core write sent would have been refused (first
 * 503/421 send -> first successful send after the last one). Reported with it:
 * where the execution's time went (every state from the sandbox's execution history, CheckWatermark per
 * attempt), and the client-side view (first successful send after the new home became writable: MoveHome or Unfence exited, and the refusals
 * answered after it). The older measure (last ack before the fence -> first ack after the unfence) is kept
 * as a reference: with one write in flight it is bounded below by the write latency. Afterwards every
 * acknowledged event must be in every region's events table.
 */
import type { ApiClient } from '../lib/sandbox/auth/index.ts';
import '../lib/sandbox/polyfills.ts';
import type { Tier } from '../lib/config/index.ts';
import { partitionOf } from '../lib/ownership/index.ts';
import { CLIENT_REGION_HEADER } from '../lib/sandbox/gtm/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import {
  type AckedEvent,
  ackedEventsOf,
  idsByTier,
  missingSomewhere,
  unavailabilityWindow,
} from './acked-writes.ts';
import { benchApplication } from './application.ts';
import { type ProbeAttempt, type ProbeWindow, probe, probeWindow } from './core-probes.ts';
import { type StateSpan, stateSpans } from './execution-breakdown.ts';
import { type Figure, percentile, round } from './report.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Core probes: one send per partition every intervalMs, at most maxInFlight at once (a 2-core machine). */
const PROBE = { intervalMs: 50, maxInFlight: 2 } as const;

/** One client loop: one aggregate, one write in flight. */
interface Writer {
  readonly tier: Tier;
  readonly path: string;
  readonly partition: number;
  readonly acks: number[];
  /** Core writers only: every probe sent, refused or not. */
  readonly probes: ProbeAttempt[];
  /** Core writers only: one account of the partition per probe in flight. */
  readonly probePaths: readonly string[];
}

const COMMANDS: Record<
  Tier,
  { type: string; prefix: string; payload: (n: number) => Record<string, unknown> }
> = {
  core: { type: 'Deposit', prefix: 'account', payload: (n) => ({ amount: 1 + (n % 7) }) },
  important: { type: 'SetDisplayName', prefix: 'profile', payload: (n) => ({ displayName: `sw #${n}` }) },
  ordinary: {
    type: 'AppendEntry',
    prefix: 'activity',
    payload: (n) => ({ kind: 'click', message: `sw ${n}` }),
  },
};

/**
 * `count` account ids in distinct partitions, and a profile and an activity id per account: in the same
 * partition (`shared`), or in partitions without accounts (not homed, so not moved).
 */
function aggregatesPerPartition(input: {
  count: number;
  partitions: number;
  shared: boolean;
}): Array<Record<Tier, string> & { probes: string[] }> {
  const found = new Map<number, string>();
  for (let i = 0; found.size < input.count; i++) {
    const id = `sw-acct-${i}`;
    const p = partitionOf(id, input.partitions);
    if (!found.has(p)) found.set(p, id);
  }
  const fits = (id: string, p: number) =>
    input.shared ? partitionOf(id, input.partitions) === p : !found.has(partitionOf(id, input.partitions));
  const idFor = (p: number, prefix: string) => {
    for (let k = 0; ; k++) if (fits(`${prefix}-${p}-${k}`, p)) return `${prefix}-${p}-${k}`;
  };
  return [...found].map(([p, account]) => ({
    core: account,
    important: idFor(p, 'sw-prof'),
    ordinary: idFor(p, 'sw-act'),
    // One account per probe in flight (the first is `core`): probes never contend on one aggregate.
    probes: [account, ...probeAccounts(p, input.partitions, PROBE.maxInFlight - 1)],
  }));
}

/** `n` more account ids in partition `p`. */
function probeAccounts(p: number, partitions: number, n: number): string[] {
  const ids: string[] = [];
  for (let k = 0; ids.length < n; k++)
    if (partitionOf(`sw-probe-${p}-${k}`, partitions) === p) ids.push(`sw-probe-${p}-${k}`);
  return ids;
}

/** Sends one command as a client near A; the acked events, or why it was refused. */
async function post(input: {
  client: ApiClient;
  /** The front door, or a region's API. */
  frontDoor: string;
  path: string;
  body: unknown;
  tierOf: (type: string) => Tier | undefined;
  timeoutMs?: number;
}): Promise<{ acked: AckedEvent[] } | { refused: string; status: number; error?: string }> {
  try {
    const response = await input.client.fetch(`${input.frontDoor}${input.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [CLIENT_REGION_HEADER]: A },
      body: JSON.stringify(input.body),
      signal: AbortSignal.timeout(input.timeoutMs ?? 5_000),
    });
    const body = (await response.json().catch(() => null)) as { error?: string } | null;
    if (!response.ok)
      return {
        refused: `${response.status} ${body?.error ?? ''}`.trim(),
        status: response.status,
        ...(body?.error ? { error: body.error } : {}),
      };
    const at = Date.now();
    return {
      acked: ackedEventsOf({ path: input.path, status: response.status, body, at, tierOf: input.tierOf }),
    };
  } catch (error) {
    return { refused: (error as Error).name, status: 0, error: (error as Error).name };
  }
}

/** Opens an account as a client near A (A claims its partition), retrying a slow first write. */
async function openAccount(input: {
  client: ApiClient;
  frontDoor: string;
  id: string;
  tierOf: (type: string) => Tier | undefined;
}) {
  const body = { type: 'OpenAccount', payload: { owner: input.id, currency: 'EUR' } };
  const path = `/v1/account/${input.id}/commands`;
  const reasons: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const outcome = await post({ ...input, path, body, timeoutMs: 15_000 });
    if ('acked' in outcome) return outcome.acked;
    // An earlier attempt that timed out on the client may have opened it.
    if (outcome.refused === '422 AccountAlreadyOpen') return [];
    reasons.push(outcome.refused);
    await sleep(500);
  }
  throw new Error(`could not open ${input.id}: ${reasons.join(', ')}`);
}

interface Outcome {
  readonly writers: readonly Writer[];
  readonly acked: readonly AckedEvent[];
  readonly execution: {
    ms: number;
    status: string;
    moved: number;
    /** Partitions MoveHome left active (moved and unfenced in one change). */
    movedActive: number;
    /** Partitions unfenced with no lease hold: the old home's own copy carried the fence. */
    confirmed: number;
    start: number;
    stop: number;
    states: number;
    error?: string;
  };
  readonly lost: Record<Tier, number>;
  readonly consistent: boolean;
  readonly refused: Readonly<Record<string, number>>;
  /** Every state of the execution, entered -> exited. */
  readonly spans: readonly StateSpan[];
  /** Where each task's own time went (`ms` of its result in the execution's output: phases, total). */
  readonly inside: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The tasks whose results carry `ms` (lib/runbooks/phase-timer.ts), by state name -> result key. */
const TIMED_TASKS = {
  Fence: 'fence',
  CheckWatermark: 'checkWatermark',
  VerifyProbe: 'verifyProbe',
  MoveHome: 'moveHome',
  Unfence: 'unfence',
} as const;

function insideOf(output: unknown): Record<string, Record<string, number>> {
  const results = (output ?? {}) as Record<string, { ms?: Record<string, number>; polls?: number }>;
  const inside: Record<string, Record<string, number>> = {};
  for (const [state, key] of Object.entries(TIMED_TASKS)) {
    const result = results[key];
    if (result?.ms) inside[state] = { ...result.ms, ...(result.polls ? { polls: result.polls } : {}) };
  }
  return inside;
}

async function runSwitchover(
  sandbox: Sandbox,
  plan: { phaseMs: number; count: number; shared: boolean },
): Promise<Outcome> {
  const { phaseMs, count } = plan;
  const frontDoor = sandbox.gtm.frontDoorUrl;
  const tiers = new Map(sandbox.topology.aggregates.map((a) => [a.type, a.tier]));
  const tierOf = (t: string) => tiers.get(t);
  const acked: AckedEvent[] = [];
  const ids = aggregatesPerPartition({ count, partitions: sandbox.topology.partitions, shared: plan.shared });
  // Open every account at A's own API (the front door could pick another region while A's health checks
  // lag on a loaded machine): A claims (homes) each partition. The steady writes then use the front door.
  // The first account of each partition claims it; the probes' other accounts are opened after.
  const open = (id: string) =>
    openAccount({ client: sandbox.apiClient, frontDoor: sandbox.region(A).apiUrl, id, tierOf });
  const claimed = await Promise.all(ids.map((set) => open(set.core)));
  const opened = await Promise.all(ids.flatMap((set) => set.probes.slice(1).map(open)));
  acked.push(...claimed.flat(), ...opened.flat());
  for (const set of ids) {
    const entry = await sandbox
      .region(A)
      .multiRegion.map.read(partitionOf(set.core, sandbox.topology.partitions));
    if (entry?.home !== A) throw new Error(`${set.core} is homed in ${entry?.home}, not ${A}`);
  }
  const writers: Writer[] = ids.flatMap((set) =>
    (['core', 'important', 'ordinary'] as const).map((tier) => ({
      tier,
      path: `/v1/${COMMANDS[tier].prefix}/${set[tier]}/commands`,
      partition: partitionOf(set[tier], sandbox.topology.partitions),
      acks: [],
      probes: [],
      probePaths: set.probes.map((id) => `/v1/${COMMANDS.core.prefix}/${id}/commands`),
    })),
  );
  const refused = new Map<string, number>();
  let running = true;
  const send = async (w: Writer, n: number, path = w.path) => {
    const c = COMMANDS[w.tier];
    const outcome = await post({
      client: sandbox.apiClient,
      frontDoor,
      path,
      body: { type: c.type, payload: c.payload(n) },
      tierOf,
    });
    if ('acked' in outcome) {
      acked.push(...outcome.acked);
      w.acks.push(Date.now());
      return { status: 200 };
    }
    refused.set(outcome.refused, (refused.get(outcome.refused) ?? 0) + 1);
    return { status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) };
  };
  const loops = writers.map(async (w) => {
    if (w.tier === 'core') {
      let n = 0;
      const attempts = await probe({
        ...PROBE,
        send: (slot) => send(w, n++, w.probePaths[slot]),
        running: () => running,
      });
      w.probes.push(...attempts);
      return;
    }
    for (let n = 0; running; n++) {
      await send(w, n);
      await sleep(20);
    }
  });
  // Every writer acknowledged at least once before the switchover (a loaded machine can be slow to start).
  const warm = Date.now() + 20_000;
  while (Date.now() < warm && writers.some((w) => w.acks.length === 0)) await sleep(50);
  await sleep(phaseMs);
  const result = await sandbox.runStateMachine(B, 'Switchover', { from: A, to: B, reason: 'bench' });
  const [start, stop] = [Date.parse(result.startDate), Date.parse(result.stopDate)];
  const spans = stateSpans(sandbox.executionHistory(result.executionArn), start);
  // Keep writing until every partition has written again after the unfence (new home's hold included).
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && writers.some((w) => !w.acks.some((t) => t > stop))) await sleep(50);
  await sleep(phaseMs / 2);
  running = false;
  await Promise.all(loops);
  await sandbox.quiesce(30_000);
  const byTier = idsByTier(acked);
  let check = await sandbox.check();
  for (let attempt = 0; !check.passed && attempt < 5; attempt++) {
    await sleep(500);
    await sandbox.quiesce(10_000);
    check = await sandbox.check();
  }
  const output = result.output as
    | {
        moveHome?: { moved?: Array<{ state?: string }> };
        unfence?: { active?: Array<{ sourceConfirmed?: boolean }> };
      }
    | undefined;
  return {
    writers,
    acked,
    execution: {
      ms: stop - start,
      status: result.status,
      moved: output?.moveHome?.moved?.length ?? 0,
      movedActive: output?.moveHome?.moved?.filter((m) => m.state === 'active').length ?? 0,
      confirmed: output?.unfence?.active?.filter((a) => a.sourceConfirmed === true).length ?? 0,
      start,
      stop,
      states: result.states.length,
      ...(result.status === 'SUCCEEDED'
        ? {}
        : { error: `${result.error ?? ''} ${JSON.stringify(result.taskErrors.slice(0, 2))}` }),
    },
    lost: {
      core: await missingSomewhere(byTier.core, sandbox.regions),
      important: await missingSomewhere(byTier.important, sandbox.regions),
      ordinary: await missingSomewhere(byTier.ordinary, sandbox.regions),
    },
    consistent: check.passed,
    refused: Object.fromEntries(refused),
    spans,
    inside: insideOf(result.output),
  };
}

const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));

/**
 * When the new home could write: MoveHome's exit when it moved and unfenced at once (the old home
 * confirmed its fence for every partition), else Unfence's.
 */
function writableAt(o: Outcome): number {
  const state = o.execution.movedActive === o.execution.moved ? 'MoveHome' : 'Unfence';
  return o.spans.find((s) => s.state === state)?.exitedAt ?? o.execution.stop;
}

/** The probe windows of the core partitions, and how each looked from the client after Unfence. */
function coreWindows(
  o: Outcome,
): Array<
  ProbeWindow & { afterUnfenceMs: number; answeredAfterUnfenceMs: number; refusedAfterUnfence: number }
> {
  const unfenced = writableAt(o);
  return o.writers
    .filter((w) => w.tier === 'core')
    .map((w) => ({
      ...probeWindow(w.partition, w.probes, { from: o.execution.start, to: o.execution.stop }),
      afterUnfenceMs:
        (w.probes.find((p) => p.status === 200 && p.sentAt >= unfenced)?.sentAt ?? NaN) - unfenced,
      answeredAfterUnfenceMs:
        Math.min(
          ...w.probes.filter((p) => p.status === 200 && p.answeredAt >= unfenced).map((p) => p.answeredAt),
        ) - unfenced,
      refusedAfterUnfence: w.probes.filter((p) => p.status !== 200 && p.answeredAt >= unfenced).length,
    }));
}

/** Each state's time (CheckWatermark per attempt), and the fence-to-unfence span. */
function breakdownOf(o: Outcome): Figure[] {
  const fence = o.spans.find((s) => s.state === 'Fence');
  const fenceStart = fence ? fence.exitedAt - fence.ms : Number.NaN;
  const span: Figure[] = [
    {
      figure:
        'Fence entered -> the new home writable (MoveHome or Unfence exited; core writes refused in between)',
      value: writableAt(o) - fenceStart,
      unit: 'ms',
      target: 'reference',
      met: null,
    },
  ];
  // Inside a task (its last attempt for a polled one): each phase, and the state's time not spent in the
  // handler (the invoke through the sandbox's Lambda and IAM layers, payload checks, the transition).
  const lastSpan = (state: string) => o.spans.filter((s) => s.state.split(' #')[0] === state).at(-1);
  const inside = Object.entries(o.inside).flatMap(([state, ms]) => [
    ...Object.entries(ms).map(([phase, value]) => ({
      figure: `    ${state} inside the task (last attempt): ${phase}`,
      value,
      unit: phase === 'polls' ? 'polls' : 'ms',
      target: 'reference',
      met: null,
    })),
    {
      figure: `    ${state}: state time outside the handler (invoke, transition)`,
      value: (lastSpan(state)?.ms ?? Number.NaN) - (ms.total ?? Number.NaN),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
  ]);
  return [
    ...span,
    ...o.spans.map((s) => ({
      figure: `  ${s.state} (entered at +${s.startMs} ms)`,
      value: s.ms,
      unit: 'ms',
      target: 'reference',
      met: null,
    })),
    ...inside,
  ];
}

function figuresOf(o: Outcome, count: number): Figure[] {
  const { start, stop } = o.execution;
  const windows = (tier: Tier) =>
    o.writers.filter((w) => w.tier === tier).map((w) => unavailabilityWindow(w.acks, start, stop));
  const probed = coreWindows(o);
  const core = probed.map((w) => w.unavailableMs);
  const ackGaps = windows('core');
  const others = [...windows('important'), ...windows('ordinary')];
  const latencies = o.writers
    .filter((w) => w.tier === 'core')
    .flatMap((w) => w.probes.filter((p) => p.status === 200 && (p.answeredAt < start || p.sentAt > stop)))
    .map((p) => p.answeredAt - p.sentAt);
  const reasons: Record<string, number> = {};
  for (const w of probed) for (const [k, v] of Object.entries(w.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  const ref = (figure: string, value: number, unit = 'ms'): Figure => ({
    figure,
    value: round(value, 0),
    unit,
    target: 'reference',
    met: null,
  });
  const zero = (tier: Tier): Figure => ({
    figure: `${tier} acknowledged events lost (of ${o.acked.filter((e) => e.tier === tier).length})`,
    value: o.lost[tier],
    unit: 'events',
    target: '0',
    met: o.lost[tier] === 0,
  });
  return [
    {
      figure: `Switchover execution ${A} -> ${B} (${o.execution.status}, ${o.execution.moved} partitions moved)`,
      value: o.execution.ms,
      unit: 'ms',
      target: `SUCCEEDED, ${count} moved`,
      met: o.execution.status === 'SUCCEEDED' && o.execution.moved === count,
    },
    {
      figure: `core write unavailability per partition p50 (${core.length} partitions; first refused send -> first successful send after the last refusal, probes every ${PROBE.intervalMs} ms)`,
      value: round(percentile(core, 50), 0),
      unit: 'ms',
      target: '< 1500',
      met: percentile(core, 50) < 1_500,
    },
    {
      figure: 'core write unavailability per partition max',
      value: round(Math.max(...core), 0),
      unit: 'ms',
      target: '< 3000',
      met: Math.max(...core) < 3_000,
    },
    {
      figure: 'partitions the new home took without a lease hold (old home confirmed its fence)',
      value: o.execution.confirmed,
      unit: 'partitions',
      target: `${count}`,
      met: o.execution.confirmed === count,
    },
    ...breakdownOf(o),
    ref(
      'client side: the new home writable -> first successful core send, p50',
      percentile(finite(probed.map((w) => w.afterUnfenceMs)), 50),
    ),
    ref(
      'client side: the new home writable -> first successful core send, max',
      Math.max(...finite(probed.map((w) => w.afterUnfenceMs))),
    ),
    ref(
      'client side: the new home writable -> first success answered, p50',
      percentile(finite(probed.map((w) => w.answeredAfterUnfenceMs)), 50),
    ),
    ref(
      'client side: core refusals answered after the new home was writable (all partitions)',
      probed.reduce((n, w) => n + w.refusedAfterUnfence, 0),
      'requests',
    ),
    ...Object.entries(reasons).map(([k, v]) => ref(`  core probes refused: ${k}`, v, 'requests')),
    ...Object.entries(o.refused).map(([k, v]) =>
      ref(`  every writer's non-200 answers, whole run: ${k}`, v, 'requests'),
    ),
    ref('core write latency outside the switchover p50 (probes)', percentile(latencies, 50)),
    ref(
      'core ack gap per partition, last ack before the fence -> first after the unfence, p50 (the measure before probes)',
      percentile(ackGaps, 50),
    ),
    ref('important/ordinary write unavailability during the switchover, max', Math.max(...others)),
    zero('core'),
    zero('important'),
    zero('ordinary'),
    {
      figure: 'consistency check after the switchover',
      value: o.consistent ? 1 : 0,
      unit: 'pass',
      target: '1',
      met: o.consistent,
    },
  ];
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runSwitchoverBench(options: {
  endpoint: string;
  quick?: boolean;
  log?: (line: string) => void;
  /** Profiles and activity in the moved partitions too (default true, see the header). */
  sharedPartitions?: boolean;
}): Promise<Figure[]> {
  const count = options.quick ? 4 : 8;
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 1 },
  });
  try {
    const plan = { phaseMs: options.quick ? 2_000 : 5_000, count, shared: options.sharedPartitions ?? true };
    const outcome = await runSwitchover(sandbox, plan);
    options.log?.(
      `execution ${JSON.stringify(outcome.execution)}, refused ${JSON.stringify(outcome.refused)}, lost ${JSON.stringify(outcome.lost)}`,
    );
    return figuresOf(outcome, count);
  } finally {
    await sandbox.stop();
  }
}
