import { cpus } from 'node:os';
import { readRecord } from '../../commands/execute.ts';
import { BUG_SWITCHES, type BugSwitch, bugEnabled } from '../../faults/index.ts';
import {
  type Anomaly,
  byKey,
  checkCoreLogs,
  checkCoreTier,
  checkFencing,
  checkImportantTier,
  checkReadYourWrites,
  checkStranded,
  checkTransfers,
  type HistoryRecorder,
  logOf,
  type Operation,
  pairOperations,
  type RegionLoss,
  type RegionSnapshot,
  readSnapshot,
} from '../../verify/index.ts';
import type { ConsistencyReport } from '../platform/consistency.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { FAULTS_TODO, type InjectedFault } from './nemesis.ts';
import { coveredMs, HOLD_OUTAGE_ALLOWANCE_MS, outageWindows } from './outages.ts';
import type { ChaosFigure, ChaosOptions, ChaosReport } from './run.ts';
import type { RunbookRun } from './runbook-starter.ts';
import type { TransferWorkload } from './transfers.ts';

const count = (figure: string, value: number, unit = 'count'): ChaosFigure => ({
  figure,
  value,
  unit,
  target: '-',
  met: null,
});
const zero = (figure: string, value: number): ChaosFigure => ({
  figure,
  value,
  unit: 'count',
  target: '0',
  met: value === 0,
});

/**
 * Reads every core aggregate of the history in every region through the read path (`readRecord`), as a
 * client's next read would: a home whose append landed but whose row write did not (it timed out: outcome
 * unknown) has its row behind its log until the next read or command there catches it up. Rows are compared
 * (row vs fold, every region alike) after these reads; a row that is not a fold of a prefix of its log is
 * left as it is and still reported. Returns how many rows moved.
 */
async function finalReads(sandbox: Sandbox, keys: readonly string[]): Promise<number> {
  let moved = 0;
  for (const key of keys) {
    const [type, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    for (const region of sandbox.regions) {
      const { registry } = region.options;
      if (!registry.has(type) || registry.get(type).tier !== 'core') continue;
      const aggregate = registry.get(type);
      const before = await region.stores.states.getState(type, id);
      const after = await readRecord(region.stores, aggregate, id);
      if ((after?.version ?? 0) !== (before?.version ?? 0)) moved++;
    }
  }
  return moved;
}

/** Reads every region after heal and runs every checker of lib/verify on the run's history. */
export async function verifyRun(
  sandbox: Sandbox,
  input: {
    options: ChaosOptions;
    history: HistoryRecorder;
    faults: InjectedFault[];
    afterRun: RunbookRun[];
    transfers?: { workload: TransferWorkload; duplicated: number; started: number; restoredAt: number };
  },
): Promise<ChaosReport> {
  const { options, faults } = input;
  const ops = pairOperations(input.history.events());
  const operations = byKey(ops);
  const caughtUp = await finalReads(sandbox, [...operations.keys()]);
  const regions = await Promise.all(
    sandbox.regions.map((r) => readSnapshot({ region: r.name, doc: r.clients.doc, tables: r.stores.tables })),
  );
  const ackMode = sandbox.topology.core.ack;
  const runbookRuns = [...faults.flatMap((f) => f.runbooks ?? []), ...input.afterRun];
  const regionLosses = lossesOf(
    runbookRuns,
    sandbox.timing.fencing.leaseMs + sandbox.timing.fencing.skewMarginMs,
  );
  const core = checkCoreTier({ operations, regions, ackMode, regionLosses, maxExplored: 2_000_000 });
  const registers = [{ aggregateType: 'profile', eventType: 'DisplayNameSet', field: 'displayName' }];
  const important = checkImportantTier({ operations, regions, registers });
  const ryw = checkReadYourWrites({ operations, regions, registers });
  const logs = checkCoreLogs(regions);
  const fencing = checkFencing(regions);
  const deadLetters = Object.fromEntries(
    sandbox.regions.map((r) => [r.name, r.deadLetters.length + r.streamDeadLetters.length]),
  );
  const stranded = checkStranded({ regions, deadLetters, explain: settledLater(regions) });
  const consistency = await sandbox.check();
  const holdBoundMs = sandbox.timing.sagaSweepMs + HOLD_OUTAGE_ALLOWANCE_MS;
  const transfers = checkTransfers({
    operations,
    regions,
    accounts: input.transfers?.workload.accounts ?? [],
    setupOpIds: input.transfers?.workload.setupOpIds ?? [],
    holdBoundMs,
    ackMode,
    lostRegions: regionLosses.map((l) => l.region),
    ...(input.transfers
      ? {
          outageMs: outagesOf(
            input,
            runbookRuns,
            sandbox.regions.map((r) => r.name),
          ),
        }
      : {}),
  });
  const anomalies: Anomaly[] = [
    ...core.anomalies,
    ...logs.anomalies,
    ...ryw.anomalies,
    ...important.anomalies,
    ...fencing.anomalies,
    ...stranded.anomalies,
    ...transfers.anomalies,
  ];
  if (!consistency.passed) anomalies.push(...inconsistencies(consistency));
  const tally = (o: string) => ops.filter((op) => op.outcome === o).length;
  const byChecker = (c: string) => anomalies.filter((a) => a.checker === c).length;
  const figures: ChaosFigure[] = [
    count('operations', ops.length),
    count('operations ok', tally('ok')),
    count('operations failed (definite)', tally('fail')),
    count('operations indeterminate (info)', tally('info')),
    // Quorum writes whose home reached no majority of all regions (a minority split off, peers killed).
    count(
      'core writes answered 503 QuorumAckError (no majority reached)',
      ops.filter((op) => op.error === 'QuorumAckError').length,
    ),
    count('reads with a consistency token', ryw.reads),
    count('reads checked against the logs', ryw.checked),
    count('reads answered 503 / timed out', ryw.unavailable),
    count('faults injected', faults.length),
    count('runbook executions (during faults, and Failbacks after the run)', runbookRuns.length),
    count('runbook executions succeeded', runbookRuns.filter((r) => r.status === 'SUCCEEDED').length),
    count('accounts decided linearizable', core.linearizable),
    zero('accounts undecided (linearizability search bound hit)', core.undecided),
    count('acknowledged core writes queued as orphans (ack local, region lost)', core.orphanedAcknowledged),
    count(
      'core rows behind their log caught up by the final read (a write whose row write failed)',
      caughtUp,
    ),
    zero(
      'anomalies: core (lost / phantom / duplicate writes, negative balance, row vs fold)',
      byChecker('core'),
    ),
    zero('anomalies: core-log (joined logs, gaps, not converged)', byChecker('core-log')),
    zero('anomalies: linearizability (not linearizable, undecided)', byChecker('linearizability')),
    zero('anomalies: ryw (read-your-writes)', byChecker('ryw')),
    zero('anomalies: important (divergence, lww, lost / phantom writes)', byChecker('important')),
    zero('anomalies: fencing (two writers at one epoch, forked logs)', byChecker('fencing')),
    zero('anomalies: stranded (quarantine, parked, dead letters)', byChecker('stranded')),
    count('transfers', transfers.transfers),
    count('transfers confirmed', transfers.confirmed),
    count('transfers cancelled', transfers.cancelled),
    zero('transfers in doubt', transfers.inDoubt),
    zero('money conservation anomalies', transfers.conservationAnomalies),
    count(
      'transfers a region loss cut through (ack local: a step or the decision queued as an orphan)',
      transfers.hitByRegionLoss,
    ),
    zero('transfer events traced to no client request (phantom writes)', transfers.phantomWrites),
    zero('anomalies: transfers (exactly once, holds, available balance)', byChecker('transfers')),
    count('saga tasks delivered twice', input.transfers?.duplicated ?? 0),
    count('longest hold past its expiry', transfers.maxHoldOvershootMs, 'ms'),
    {
      figure: "longest hold past its expiry beyond its homes' outages",
      value: transfers.maxHoldOvershootBeyondOutagesMs,
      unit: 'ms',
      target: `<= ${holdBoundMs} (sweep interval + ${HOLD_OUTAGE_ALLOWANCE_MS} ms)`,
      met: transfers.maxHoldOvershootBeyondOutagesMs <= holdBoundMs,
    },
  ];
  const bugs = (Object.keys(BUG_SWITCHES) as BugSwitch[]).filter((name) => bugEnabled(name));
  return {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    figures,
    seed: options.seed,
    seconds: options.seconds,
    env: sandbox.topology.name,
    ackMode,
    fencingDisabled: options.disableFencing ?? false,
    bugs,
    operations: { total: ops.length, ok: tally('ok'), fail: tally('fail'), info: tally('info') },
    faults,
    runbooksAfterRun: input.afterRun,
    faultsNotInjected: FAULTS_TODO,
    anomalies,
    checks: {
      core: {
        accounts: core.accounts,
        linearizable: core.linearizable,
        undecided: core.undecided,
        explored: core.explored,
        orphanedAcknowledged: core.orphanedAcknowledged,
        verdicts: core.verdicts,
      },
      coreLogs: { aggregates: logs.aggregates, events: logs.events },
      ryw: {
        reads: ryw.reads,
        checked: ryw.checked,
        unavailable: ryw.unavailable,
        ofLostBranch: ryw.ofLostBranch,
      },
      important: { aggregates: important.aggregates, lostToLww: important.lostToLww },
      fencing: { epochs: fencing.epochs, coreEvents: fencing.coreEvents },
      stranded: { quarantined: stranded.quarantined },
      transfers: {
        transfers: transfers.transfers,
        confirmed: transfers.confirmed,
        cancelled: transfers.cancelled,
        inDoubt: transfers.inDoubt,
        accounts: input.transfers?.workload.accounts.length ?? 0,
        maxHoldOvershootMs: transfers.maxHoldOvershootMs,
        latestHold: transfers.latestHold ?? null,
        cancelReasons: transfers.cancelReasons,
        clientErrors: transfers.clientErrors,
      },
      consistency: consistency.verdict,
      refusals: refusals(ops),
    },
    evidence: evidence(anomalies, operations, regions),
    ...(options.keepHistory ? { history: ops } : {}),
    passed: anomalies.length === 0,
  };
}

/**
 * The consistency check's failure: one anomaly per aggregate whose rows differ (keyed, so the report's
 * evidence holds its logs, and naming each region's row), or the verdict alone when only events differ.
 */
export function inconsistencies(consistency: ConsistencyReport): Anomaly[] {
  if (consistency.diverged.length === 0)
    return [{ checker: 'important', kind: 'inconsistent', message: consistency.verdict }];
  return consistency.diverged.map((d) => ({
    checker: 'important',
    kind: 'inconsistent',
    key: d.key.replace('#', '/'),
    message: `${consistency.verdict}; rows: ${Object.entries(d.byRegion)
      .map(([region, row]) => `${region} ${row === null ? 'none' : row.slice(0, 240)}`)
      .join(' | ')}`,
  }));
}

/** Ms of outage of a hold's homes (see outageWindows) within a window, for the hold bound. */
function outagesOf(
  input: Parameters<typeof verifyRun>[1],
  runbooks: readonly RunbookRun[],
  regions: readonly string[],
): (from: number, to: number, homes: readonly string[]) => number {
  const windows = outageWindows({
    faults: input.faults,
    runbooks,
    regions,
    started: input.transfers?.started ?? 0,
    restoredAt: input.transfers?.restoredAt ?? 0,
    seconds: input.options.seconds,
  });
  return (from, to, homes) => coveredMs(windows, from, to, homes);
}

/**
 * The regions successful Failovers took over: a write that region acknowledged before the Failover ended
 * plus the lease hold (after which the old home acknowledges nothing) may be lost with it under `ack: local`.
 */
function lossesOf(runs: readonly RunbookRun[], holdMs: number): RegionLoss[] {
  return runs.flatMap((run) =>
    run.runbook === 'Failover' && run.status === 'SUCCEEDED' && typeof run.input.region === 'string'
      ? [{ region: run.input.region, until: (run.finishedAt ?? Number.POSITIVE_INFINITY) + holdMs }]
      : [],
  );
}

/**
 * A quarantined event is explained when it was settled later: it is in the region's final log (a Repair or
 * Failback brought it onto the home's branch) or kept by a manual-queue record (a core orphan of a fork).
 */
export function settledLater(regions: readonly RegionSnapshot[]) {
  const logged = new Map(regions.map((r) => [r.region, new Set(r.events.map((e) => e.eventId))]));
  // A retired branch is queued in every region the settlement reached, which need not include the region
  // that quarantined the fork (it may have been cut off then): a record in any region's queue keeps it.
  const queued = new Set(
    regions.flatMap((r) =>
      (r.conflicts ?? []).flatMap((c) => [...c.eventIds, ...c.events.map((e) => e.eventId)]),
    ),
  );
  return (entry: RegionSnapshot['quarantine'][number], region: string) => {
    if (!entry.eventId) return undefined;
    if (logged.get(region)?.has(entry.eventId)) return 'settled later (in the log)';
    return queued.has(entry.eventId) ? 'settled later (kept by a manual-queue record)' : undefined;
  };
}

/**
 * For every key an anomaly names: the clients' operations on it and each region's log of it, so that a
 * finding can be explained from the report alone.
 */
export function evidence(
  anomalies: readonly Anomaly[],
  operations: ReadonlyMap<string, readonly Operation[]>,
  regions: readonly RegionSnapshot[],
): ChaosReport['evidence'] {
  const keys = [...new Set(anomalies.flatMap((a) => [...(a.key ? [a.key] : []), ...(a.related ?? [])]))];
  return Object.fromEntries(
    keys.map((key) => {
      const logs = Object.fromEntries(
        regions.map((r) => [
          r.region,
          logOf(r, key).map((e) => ({
            eventId: e.eventId,
            seq: e.seq,
            epoch: e.epoch,
            origin: e.origin,
            hlc: e.hlc,
            prev: e.prev,
            causationId: e.causationId,
            type: e.type,
            payload: e.payload,
          })),
        ]),
      );
      return [key, { operations: operations.get(key) ?? [], logs }];
    }),
  );
}

/** Definite refusals and indeterminate outcomes by error code (what the clients saw). */
export function refusals(ops: ReturnType<typeof pairOperations>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of ops)
    if (op.outcome !== 'ok')
      out[`${op.outcome} ${op.error ?? 'in flight'}`] =
        (out[`${op.outcome} ${op.error ?? 'in flight'}`] ?? 0) + 1;
  return out;
}
