/**
 * A region comes back after an outage with a backlog owed to it: N core events (the example bank's accounts,
 * opened then deposited into, written in us-east-1) and 100,000 ordinary events (activity entries, written in
 * both writers). Measured: how long the returning region takes to apply the whole core backlog, with the
 * ordinary backlog queued in its lane and without it (the reference run), and how long the ordinary backlog
 * takes. Target: the core drain barely slowed by the ordinary backlog.
 *
 * How the backlog is built (fast, and through the returning region's real delivery paths): the events are
 * decided by the deciders and seeded straight into both writers' tables with their stream pollers stopped and
 * restarted at LATEST (`withoutPublishing`: the writers hold them, nobody publishes them). Their replication
 * entries (`toBusEntry`: signed, stamped with the tier, as the writers' publishers build them) are then put on
 * the returning region's bus, as the writers' forwarding rules deliver them: the ordinary ones first, with the
 * returning region's lane held (`holdLane`), so they all wait in its SQS queue; then the lane is released and
 * the core ones are put on the bus at once (the apply rule, one applier invocation per event). This is the
 * returning region's worst order: its lane full before the first core event arrives. Killing the region would
 * start the watchdog's failover (noise in a drain measurement), and 100,000 publications through the writers'
 * streams would make the figure the publishers' speed, not the returning region's.
 */
import '../lib/sandbox/polyfills.ts';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../lib/model/envelope.ts';
import { toBusEntry } from '../lib/replication/entries.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { aggregateKey } from '../lib/store/index.ts';
import { benchApplication } from './application.ts';
import {
  type DecidedScript,
  decideScripts,
  type SeedScript,
  seedDecided,
  withoutPublishing,
} from './repair-seed.ts';
import { type Figure, round } from './report.ts';

const RETURNING = 'ap-southeast-1';
const WRITERS = ['us-east-1', 'eu-west-1'];
/** Events per account (OpenAccount + deposits) and per activity aggregate (entries). */
const PER_ACCOUNT = 10;
const PER_ACTIVITY = 5;
const CORE_EVENTS = 1_000;
const POLL_MS = 50;
/** How long the drains may take: 15 min, or 15 ms per queued ordinary event (100,000: 25 min) when longer. */
const deadlineMs = (ordinary: number) => Math.max(900_000, ordinary * 15);

function scriptsOf(run: string, ordinary: number): SeedScript[] {
  const account = benchApplication.aggregates.find((a) => a.name === 'account')!;
  const activity = benchApplication.aggregates.find((a) => a.tier === 'ordinary')!;
  const scripts: SeedScript[] = [];
  for (let i = 0; i < CORE_EVENTS / PER_ACCOUNT; i++)
    scripts.push({
      aggregate: account,
      aggregateId: `bl-${run}-a${i}`,
      origin: WRITERS[0]!,
      commands: [
        { type: 'OpenAccount', payload: { owner: `o${i}`, currency: 'EUR' } },
        ...Array.from({ length: PER_ACCOUNT - 1 }, (_, d) => ({
          type: 'Deposit',
          payload: { amount: d + 1 },
        })),
      ],
    });
  for (let i = 0; i < Math.ceil(ordinary / PER_ACTIVITY); i++)
    scripts.push({
      aggregate: activity,
      aggregateId: `bl-${run}-o${i}`,
      origin: WRITERS[i % WRITERS.length]!,
      commands: Array.from({ length: PER_ACTIVITY }, (_, n) => ({
        type: 'AppendEntry',
        payload: { kind: 'login', message: `o${i}-${n}` },
      })),
    });
  return scripts;
}

/** The logs' events in the order the writers' streams would publish them: round robin over the aggregates. */
function interleaved(decided: readonly DecidedScript[]): Array<{ event: EventEnvelope; script: SeedScript }> {
  const out: Array<{ event: EventEnvelope; script: SeedScript }> = [];
  const longest = Math.max(0, ...decided.map((d) => d.log.length));
  for (let i = 0; i < longest; i++)
    for (const d of decided) if (d.log[i]) out.push({ event: d.log[i]!, script: d.script });
  return out;
}

/** Puts the events' replication entries on the returning region's bus, 10 a call (PutEvents' limit). */
async function deliver(
  sandbox: Sandbox,
  events: ReadonlyArray<{ event: EventEnvelope; script: SeedScript }>,
): Promise<void> {
  const bus = sandbox.region(RETURNING).bus;
  const key = await sandbox.region(WRITERS[0]!).internalKey();
  for (let i = 0; i < events.length; i += 10) {
    const entries = events.slice(i, i + 10).map(({ event, script }) => {
      const { Resources: _none, ...entry } = toBusEntry(event, bus.name, key, script.aggregate.tier);
      return entry;
    });
    const result = await bus.putEvents(entries);
    if (result.FailedEntryCount > 0) throw new Error(`PutEvents refused ${result.FailedEntryCount} entries`);
  }
}

/** How many of the core aggregates' rows at the returning region have folded their whole log. */
async function coreRowsDone(sandbox: Sandbox, core: readonly DecidedScript[]): Promise<number> {
  const region = sandbox.region(RETURNING);
  const table = region.stores.tables.state;
  let done = 0;
  for (let i = 0; i < core.length; i += 100) {
    const keys = core
      .slice(i, i + 100)
      .map((d) => ({ pk: aggregateKey(d.row.aggregateType, d.row.aggregateId) }));
    let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
      [table]: { Keys: keys },
    };
    while (request && Object.keys(request).length > 0) {
      const out = await region.clients.doc.send(new BatchGetCommand({ RequestItems: request }));
      done += (out.Responses?.[table] ?? []).filter((row) => row.version === PER_ACCOUNT).length;
      request = out.UnprocessedKeys as typeof request;
    }
  }
  return done;
}

function laneQueued(sandbox: Sandbox): number {
  return (
    sandbox.laneStats().find((s) => s.region === RETURNING && s.queue.endsWith('-ordinary-lane'))?.queued ?? 0
  );
}

interface Drained {
  readonly ordinary: number;
  readonly seedMs: number;
  readonly enqueueMs: number;
  /** Lane messages waiting when the core backlog arrived. */
  readonly queuedAtStart: number;
  readonly coreMs: number | undefined;
  /** Ordinary events the lane had applied (deleted from its queue) when the last core row was complete. */
  readonly ordinaryAppliedAtCore: number;
  readonly ordinaryMs: number | undefined;
  readonly consistent: boolean;
  readonly verdict: string;
}

async function measure(sandbox: Sandbox, ordinary: number): Promise<Drained> {
  const run = `${ordinary}${Date.now().toString(36)}`;
  const decided = decideScripts(scriptsOf(run, ordinary), sandbox.topology);
  const core = decided.filter((d) => d.script.aggregate.tier === 'core');
  const rest = decided.filter((d) => d.script.aggregate.tier !== 'core');
  const into = WRITERS.map((name) => {
    const region = sandbox.region(name);
    return { name, doc: region.clients.doc, tables: region.stores.tables };
  });
  let phase = performance.now();
  await withoutPublishing(sandbox, WRITERS, () => seedDecided(decided, { into }));
  const seedMs = performance.now() - phase;
  console.error(`backlog bench: ${ordinary} ordinary + ${CORE_EVENTS} core seeded in ${round(seedMs, 0)} ms`);

  phase = performance.now();
  sandbox.holdLane(RETURNING, true);
  await deliver(sandbox, interleaved(rest));
  await sandbox.region(RETURNING).bus.drain();
  const enqueueMs = performance.now() - phase;
  const queuedAtStart = laneQueued(sandbox);
  console.error(`backlog bench: ${queuedAtStart} ordinary events queued in ${round(enqueueMs, 0)} ms`);

  const started = performance.now();
  sandbox.holdLane(RETURNING, false);
  const delivering = deliver(sandbox, interleaved(core));
  let coreMs: number | undefined;
  let ordinaryMs: number | undefined;
  let ordinaryAppliedAtCore = 0;
  while (
    performance.now() - started < deadlineMs(ordinary) &&
    (coreMs === undefined || ordinaryMs === undefined)
  ) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const queued = laneQueued(sandbox);
    if (coreMs === undefined && (await coreRowsDone(sandbox, core)) === core.length) {
      coreMs = performance.now() - started;
      ordinaryAppliedAtCore = queuedAtStart - queued;
      console.error(
        `backlog bench: core backlog applied in ${round(coreMs, 0)} ms (${ordinaryAppliedAtCore} ordinary applied by then)`,
      );
    }
    if (ordinaryMs === undefined && queued === 0) ordinaryMs = performance.now() - started;
  }
  await delivering;
  await sandbox.quiesce(120_000);
  const report = await sandbox.check();
  if (!report.passed) console.error(`backlog bench: after the drain: ${report.verdict}`);
  return {
    ordinary,
    seedMs,
    enqueueMs,
    queuedAtStart,
    coreMs,
    ordinaryAppliedAtCore,
    ordinaryMs,
    consistent: report.passed && report.missingEvents === 0,
    verdict: report.verdict,
  };
}

/** Core drain with the ordinary backlog ÷ without: 1.5 leaves the sandbox's shared process and JVM room. */
const RATIO_TARGET = 1.5;

function figuresOf(reference: Drained, loaded: Drained, quick: boolean): Figure[] {
  const n = `${loaded.ordinary.toLocaleString('en')}${quick ? ' (quick)' : ''}`;
  const how =
    "seeded into both writers unpublished, their entries put on the returning region's bus, ordinary first with its lane held";
  const ratio = (loaded.coreMs ?? Number.NaN) / (reference.coreMs ?? Number.NaN);
  return [
    {
      figure: `backlog built: ${CORE_EVENTS} core + ${n} ordinary events (${how}): seed time`,
      value: round(loaded.seedMs, 0),
      unit: 'ms (not in the drain times)',
      target: 'reference',
      met: null,
    },
    {
      figure: `${n}: ordinary events waiting in ${RETURNING}'s lane queue when the core backlog arrives`,
      value: loaded.queuedAtStart,
      unit: `events (queued in ${round(loaded.enqueueMs, 0)} ms)`,
      target: `= ${loaded.ordinary}`,
      met: loaded.queuedAtStart === loaded.ordinary,
    },
    {
      figure: `core backlog (${CORE_EVENTS} events, ${CORE_EVENTS / PER_ACCOUNT} accounts) applied at ${RETURNING}, no ordinary backlog`,
      value: round(reference.coreMs ?? Number.NaN, 0),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: `core backlog applied at ${RETURNING} with ${n} ordinary events queued`,
      value: round(loaded.coreMs ?? Number.NaN, 0),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: `core drain with ${n} ordinary queued ÷ core drain alone`,
      value: round(ratio, 2),
      unit: 'x',
      target: `<= ${RATIO_TARGET} (barely affected; one process and one DynamoDB Local serve both paths)`,
      met: ratio <= RATIO_TARGET,
    },
    {
      figure: `${n}: ordinary events applied by the time the core backlog was`,
      value: loaded.ordinaryAppliedAtCore,
      unit: `events (of ${loaded.ordinary})`,
      target: 'reference',
      met: null,
    },
    {
      figure: `${n}: ordinary backlog applied at ${RETURNING} (from the core backlog's arrival)`,
      value: round(loaded.ordinaryMs ?? Number.NaN, 0),
      unit: `ms (${round(loaded.ordinary / ((loaded.ordinaryMs ?? Number.NaN) / 1000), 0)} events/s)`,
      target: 'reference',
      met: null,
    },
    {
      figure: 'every region holds identical event sets and state rows after both drains',
      value: reference.consistent && loaded.consistent ? 1 : 0,
      unit: 'pass',
      target: '1',
      met: reference.consistent && loaded.consistent,
    },
  ];
}

/**
 * Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). `--quick`: 10,000 ordinary
 * events; MULTIACTIVE_BACKLOG_ORDINARY sets another count.
 */
export async function runBacklogBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const ordinary = Number(process.env.MULTIACTIVE_BACKLOG_ORDINARY ?? (options.quick ? 10_000 : 100_000));
  if (!(Number.isInteger(ordinary) && ordinary > 0))
    throw new Error(`MULTIACTIVE_BACKLOG_ORDINARY must be a positive integer, got ${ordinary}`);
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 1 },
  });
  try {
    // A first core-only run warms the process (JIT, connections, row caches) so the reference is not the cold one.
    await measure(sandbox, 0);
    const reference = await measure(sandbox, 0);
    const loaded = await measure(sandbox, ordinary);
    return figuresOf(reference, loaded, options.quick ?? false);
  } finally {
    await sandbox.stop();
  }
}
