import { cpus } from 'node:os';
import {
  type Anomaly,
  byKey,
  checkCoreTier,
  checkFencing,
  checkImportantTier,
  checkStranded,
  type HistoryRecorder,
  type Operation,
  pairOperations,
  type RegionSnapshot,
  readSnapshot,
} from '../../verify/index.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { FAULTS_TODO, type InjectedFault } from './nemesis.ts';
import type { ChaosFigure, ChaosOptions, ChaosReport } from './run.ts';

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

/** Reads every region after heal and runs every checker of lib/verify on the run's history. */
export async function verifyRun(
  sandbox: Sandbox,
  input: { options: ChaosOptions; history: HistoryRecorder; faults: InjectedFault[] },
): Promise<ChaosReport> {
  const { options, faults } = input;
  const ops = pairOperations(input.history.events());
  const operations = byKey(ops);
  const regions = await Promise.all(
    sandbox.regions.map((r) => readSnapshot({ region: r.name, doc: r.clients.doc, tables: r.stores.tables })),
  );
  const core = checkCoreTier({ operations, regions, maxExplored: 100_000 });
  const important = checkImportantTier({
    operations,
    regions,
    registers: [{ aggregateType: 'profile', eventType: 'DisplayNameSet', field: 'displayName' }],
  });
  const fencing = checkFencing(regions);
  const deadLetters = Object.fromEntries(
    sandbox.regions.map((r) => [r.name, r.deadLetters.length + r.streamDeadLetters.length]),
  );
  const stranded = checkStranded({ regions, deadLetters });
  const consistency = await sandbox.check();
  const anomalies: Anomaly[] = [
    ...core.anomalies,
    ...important.anomalies,
    ...fencing.anomalies,
    ...stranded.anomalies,
  ];
  if (!consistency.passed)
    anomalies.push({ checker: 'important', kind: 'inconsistent', message: consistency.verdict });
  const runbookRuns = faults.flatMap((f) => f.runbooks ?? []);
  const tally = (o: string) => ops.filter((op) => op.outcome === o).length;
  const byChecker = (c: string) => anomalies.filter((a) => a.checker === c).length;
  const figures: ChaosFigure[] = [
    count('operations', ops.length),
    count('operations ok', tally('ok')),
    count('operations failed (definite)', tally('fail')),
    count('operations indeterminate (info)', tally('info')),
    count('faults injected', faults.length),
    count('runbook executions during faults', runbookRuns.length),
    count('runbook executions succeeded', runbookRuns.filter((r) => r.status === 'SUCCEEDED').length),
    count('accounts checked for linearizability', core.accounts),
    count('accounts with unknown verdict (search bound hit)', core.unknown),
    zero('anomalies: core (lost / phantom writes, negative balance, log)', byChecker('core')),
    zero('anomalies: linearizability', byChecker('linearizability')),
    zero('anomalies: important (divergence, lww, lost writes)', byChecker('important')),
    zero('anomalies: fencing (two writers at one epoch, forked logs)', byChecker('fencing')),
    zero('anomalies: stranded (quarantine, parked, dead letters)', byChecker('stranded')),
  ];
  return {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    figures,
    seed: options.seed,
    seconds: options.seconds,
    fencingDisabled: options.disableFencing ?? false,
    operations: { total: ops.length, ok: tally('ok'), fail: tally('fail'), info: tally('info') },
    faults,
    faultsNotInjected: FAULTS_TODO,
    anomalies,
    checks: {
      core: {
        accounts: core.accounts,
        linearizable: core.linearizable,
        unknown: core.unknown,
        explored: core.explored,
      },
      important: { aggregates: important.aggregates, lostToLww: important.lostToLww },
      fencing: { epochs: fencing.epochs, coreEvents: fencing.coreEvents },
      stranded: { quarantined: stranded.quarantined },
      consistency: consistency.verdict,
      refusals: refusals(ops),
    },
    evidence: evidence(anomalies, operations, regions),
    passed: anomalies.length === 0,
  };
}

/**
 * For every key an anomaly names: the clients' operations on it and each region's log of it, so that a
 * finding can be explained from the report alone.
 */
function evidence(
  anomalies: readonly Anomaly[],
  operations: ReadonlyMap<string, readonly Operation[]>,
  regions: readonly RegionSnapshot[],
): ChaosReport['evidence'] {
  const keys = [...new Set(anomalies.flatMap((a) => (a.key ? [a.key] : [])))];
  return Object.fromEntries(
    keys.map((key) => {
      const [type, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      const logs = Object.fromEntries(
        regions.map((r) => [
          r.region,
          r.events
            .filter((e) => e.aggregateType === type && e.aggregateId === id)
            .map((e) => ({
              eventId: e.eventId,
              seq: e.seq,
              epoch: e.epoch,
              origin: e.origin,
              hlc: e.hlc,
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
function refusals(ops: ReturnType<typeof pairOperations>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of ops)
    if (op.outcome !== 'ok')
      out[`${op.outcome} ${op.error ?? 'in flight'}`] =
        (out[`${op.outcome} ${op.error ?? 'in flight'}`] ?? 0) + 1;
  return out;
}
