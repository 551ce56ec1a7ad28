import type { Sandbox } from '../platform/sandbox.ts';
import type { ExecutionResult } from '../state-machines/runner.ts';
import { eventsAtRisk, notEverywhere } from './at-risk.ts';
import {
  demoWorkloadFor,
  firstSuccessSentAfter,
  newTally,
  sendOpening,
  startWriters,
  type WriteTally,
} from './clients.ts';
import type { DemoReport } from './report.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Detection is measured from a region the GTM sees healthy: on a loaded machine a check can time out
 * (Route 53's 2 s) and mark a region unhealthy for a while before the kill, which would leave nothing to
 * detect. Waits (bounded) for every region to be healthy again.
 */
async function steadyGtm(sandbox: Sandbox, log: (line: string) => void): Promise<void> {
  const healthy = () => sandbox.regions.every((r) => sandbox.gtm.checker.isHealthy(r.name));
  if (!(await until(healthy, 30_000)))
    log('      not every region is healthy at the GTM: the detection figure may be missing');
}

function describe(result: ExecutionResult): string {
  const failed = result.taskErrors[0];
  const why = failed ? ` at ${failed.state}: ${failed.error} ${failed.cause}` : '';
  return `${result.stateMachine} in ${result.region}: ${result.status}${result.error ? ` (${result.error})` : ''}${why}`;
}

/** The region the demo loses unless told: ap-southeast-1 when it runs, else the last region. */
function defaultLost(regions: readonly string[]): string {
  return regions.includes('ap-southeast-1') ? 'ap-southeast-1' : (regions[regions.length - 1] as string);
}

/**
 * The demo: steady writes of all three aggregates from clients near each region, one region lost,
 * failover (GTM + the Failover runbook a watchdog starts), writes continue, the region returns, its
 * backlog drains, Failback and Repair runbooks, and a consistency check.
 */
export async function runDemo(
  sandbox: Sandbox,
  options: { phaseMs: number; log: (line: string) => void; lost?: string },
): Promise<DemoReport> {
  const { log, phaseMs } = options;
  const workload = demoWorkloadFor(sandbox.application);
  const tiers = new Set(sandbox.topology.aggregates.map((a) => a.tier));
  const regions = sandbox.regions.map((r) => r.name);
  const lost = options.lost ?? defaultLost(regions);
  const peers = sandbox.regions.filter((r) => r.name !== lost);
  const frontDoor = sandbox.gtm.frontDoorUrl;
  const client = sandbox.apiClient;
  const tally = newTally();
  const phases: Array<{ step: number; text: string; at: number }> = [];
  const step = (n: number, text: string) => {
    phases.push({ step: n, text, at: Date.now() });
    log(`[${n}/9] ${text}`);
  };

  step(1, `first writes through the front door ${frontDoor} from clients near ${regions.join(', ')}`);
  await Promise.all(
    regions.flatMap((from) =>
      workload.opening(from).map((command) => sendOpening({ client, frontDoor, from, command, tally })),
    ),
  );
  const kinds = sandbox.topology.aggregates.map((a) => `${a.type}: ${a.tier}`).join(', ');
  step(2, `steady writes for ${phaseMs} ms (${kinds})`);
  const writers = startWriters({ client, frontDoor, regions, tally, pauseMs: 20, command: workload.command });
  await sleep(phaseMs);

  await steadyGtm(sandbox, log);
  step(3, `killing ${lost}`);
  // Taken before the kill: on a loaded machine the GTM may notice while the events at risk are counted.
  const changesBefore = sandbox.gtm.changes.length;
  const killedAt = Date.now();
  await sandbox.killRegion(lost);
  const atRisk = await eventsAtRisk(sandbox.region(lost), peers);
  log(`      ${atRisk.size} events written in ${lost} had not reached every peer`);

  step(4, 'waiting for the GTM to notice and the failover runbook to start');
  await until(() => !sandbox.gtm.checker.isHealthy(lost), 60_000);
  const detection = sandbox.gtm.changes.slice(changesBefore).find((c) => c.region === lost && !c.healthy);
  const detectionMs = detection ? detection.at - killedAt : undefined;
  log(
    `      ${lost} unhealthy after ${detectionMs ?? '?'} ms; traffic goes to ${peers.map((p) => p.name).join(', ')}`,
  );
  await until(
    () => firstSuccessSentAfter(tally.successes.get(lost), detection?.at ?? killedAt) !== undefined,
    30_000,
  );
  const firstAfter = firstSuccessSentAfter(tally.successes.get(lost), killedAt);
  const rtoMs = firstAfter === undefined ? undefined : firstAfter - killedAt;
  await watchdogClaim(sandbox, lost, killedAt);
  const started = await sandbox.settleExecutions();
  // Only this kill's Failover: a long-running sandbox (a drill in `sandbox up`) may have older ones.
  const failover = started.filter(
    (e) => e.stateMachine.endsWith('-Failover') && Date.parse(e.startDate) >= killedAt,
  );
  // Core RTO: the lost region's clients write accounts homed there; the first success after the kill
  // needs detection, the Failover runbook (new homes, epoch + 1) and the new home's hold (lease + skew).
  const byWatchdog = watchdogStart(sandbox, lost, killedAt);
  const coreFirst = await firstCoreWrite(tally, { lost, killedAt, core: tiers.has('core') });
  const failoverRun = failover.find((e) => e.status === 'SUCCEEDED');
  const machineMs = failoverRun
    ? Date.parse(failoverRun.stopDate) - Date.parse(failoverRun.startDate)
    : undefined;
  log(
    `      core writes for ${lost}'s partitions back after ${coreFirst === undefined ? '?' : coreFirst - killedAt} ms (Failover runbook ${machineMs ?? '?'} ms)`,
  );

  step(5, `writes continue without ${lost} for ${phaseMs} ms`);
  await sleep(phaseMs);

  step(
    6,
    `reviving ${lost} (drained by the failover: no users until failback); its unpublished events drain`,
  );
  await sandbox.reviveRegion(lost);
  await sleep(phaseMs / 2);
  await writers.stop();
  await sandbox.quiesce(30_000);

  step(7, 'failback and repair runbooks');
  const failback = await sandbox.runStateMachine(lost, 'Failback', { region: lost });
  const back = (failback.output ?? {}) as Record<string, Record<string, unknown> | undefined>;
  log(
    `      failback: caught up ${back.catchUp?.eventsReplayed ?? '?'} events, orphans ${JSON.stringify(back.findOrphans?.byTier ?? {})}, ` +
      `merged ${back.reconcileImportant?.merged ?? '?'}, core adopted ${back.queueCoreOrphans?.adopted ?? '?'} / queued ${(back.queueCoreOrphans?.queued as unknown[] | undefined)?.length ?? '?'}`,
  );
  const repair = await sandbox.runStateMachine(peers[0]!.name, 'Repair', {});
  const healed = (repair.output as { report?: Record<string, unknown> } | undefined)?.report;
  if (healed) log(`      repair: ${JSON.stringify(healed)}`);
  await sandbox.quiesce(30_000);
  await until(() => sandbox.gtm.checker.isHealthy(lost), 20_000);

  step(8, 'consistency check across regions');
  let check = await sandbox.check();
  for (let attempt = 0; !check.passed && attempt < 10; attempt++) {
    await sleep(500);
    await sandbox.quiesce(10_000);
    check = await sandbox.check();
  }
  const unrecovered = await notEverywhere(atRisk, sandbox.regions);
  const recoveredCount = atRisk.size - unrecovered.length;
  const queued = (back.queueCoreOrphans?.queued as Array<{ eventId?: string }> | undefined) ?? [];
  const counters = sandbox.regions.map((r) => r.functions.counters);
  const detected = counters.reduce((n, c) => n + c.conflictsDetected, 0);
  const manual = (await Promise.all(sandbox.regions.map((r) => r.stores.conflicts.countOpen()))).reduce(
    (a, b) => a + b,
    0,
  );

  step(9, 'report');
  return {
    regions,
    lost,
    tally,
    lag: sandbox.lag.links(regions),
    conflicts: { detected, resolved: Math.max(0, detected - manual), manual },
    detectionMs,
    ...byWatchdog,
    rtoMs,
    coreRtoMs: coreFirst === undefined ? undefined : coreFirst - killedAt,
    failoverMachineMs: machineMs,
    atRisk: atRisk.size,
    recovered: recoveredCount,
    unrecovered,
    queuedOrphans: queued.flatMap((q) => (q.eventId ? [q.eventId] : [])),
    runbooks: [...failover, failback, repair].map(describe),
    executions: [...failover, failback, repair].map((e) => e.executionArn),
    phases,
    killedAt,
    check,
    iam: sandbox.iam.report(),
  };
}

/**
 * When the lost region's clients first wrote a core aggregate after the kill (waiting up to 30 s); an
 * application without a core tier has no such write and waits for nothing.
 */
async function firstCoreWrite(
  tally: WriteTally,
  input: { lost: string; killedAt: number; core: boolean },
): Promise<number | undefined> {
  const after = () => firstSuccessSentAfter(tally.successes.get(`${input.lost}|core`), input.killedAt);
  if (input.core) await until(() => after() !== undefined, 30_000);
  return after();
}

/**
 * Waits for the watchdogs' Failover of `lost`. They start it on their own schedule, which may end after
 * the GTM's checks (with --fast the GTM's 1 s checks beat the watchdogs' 2 s probe-timeout floor). None
 * comes without automatic failover or when the survivors are no majority (two regions).
 */
async function watchdogClaim(sandbox: Sandbox, lost: string, killedAt: number): Promise<void> {
  const survivors = sandbox.regions.length - 1;
  if (!sandbox.topology.gtm.autoFailover || survivors * 2 <= sandbox.regions.length) return;
  await until(() => watchdogStart(sandbox, lost, killedAt).failoverStartedMs !== undefined, 90_000);
}

/** When (ms after the kill) and where a watchdog started the lost region's Failover, if one did. */
function watchdogStart(
  sandbox: Sandbox,
  lost: string,
  killedAt: number,
): Pick<DemoReport, 'failoverStartedMs' | 'failoverStartedIn'> {
  const start = sandbox.watchdogFailovers().find((f) => f.lost === lost && f.at >= killedAt);
  return start ? { failoverStartedMs: start.at - killedAt, failoverStartedIn: start.region } : {};
}
