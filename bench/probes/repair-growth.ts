/**
 * Probe for issue 15 (why Repair's time grows faster than its events): heals chosen partitions of the bench's
 * workload with the Repair task code (buildTrees -> diff -> replayBuckets, as the Map iteration runs them),
 * at two densities (events per partition, as the 10,000 and 100,000 runs have them: ~40 and ~390), one
 * partition at a time and then several at once, timing every DynamoDB call by region and command.
 * WAN delays are off (wanTimeScale 0): what is left is DynamoDB Local and this process's CPU.
 *
 *   node --import tsx bench/probes/repair-growth.ts [partitionsPerSet=6] [concurrent=8]
 */
import '../../lib/sandbox/polyfills.ts';
import { PerformanceObserver } from 'node:perf_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forwardRuleName } from '../../cdk/naming.ts';
import { partitionOf } from '../../lib/ownership/partition.ts';
import { buildTrees, differingBuckets, replayBuckets } from '../../lib/runbooks/heal.ts';
import { branchRules } from '../../lib/runbooks/heal-branches.ts';
import { quorumOrphanRule } from '../../lib/runbooks/quorum-orphans.ts';
import {
  REPAIR_STAGES,
  repairStageTotals,
  resetRepairStageTotals,
  timedStage,
} from '../../lib/runbooks/repair-timings.ts';
import { sandboxRunbookDeps } from '../../lib/sandbox/platform/runbook-wiring.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from '../application.ts';
import { type SeedScript, seedScripts, withoutPublishing } from '../repair-seed.ts';

const RUNS_IN = 'us-east-1';
const WRITERS = ['us-east-1', 'eu-west-1'];
const PER_ACCOUNT = 10;
const PER_PROFILE = 5;

const perSet = Number(process.argv[2] ?? 6);
const concurrent = Number(process.argv[3] ?? 8);
/** Which sets to run: density and s (one at a time) or c (concurrent), e.g. 40s,390s,40c,390c. */
const only = (process.argv[4] ?? '40s,390s,40c,390c').split(',');

/** Per region and command: calls and summed ms. */
const calls = new Map<string, { n: number; ms: number }>();
const errors = new Map<string, number>();
/** Garbage collection: pauses and their summed ms since the last reset. */
const gc = { n: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.n++;
    gc.ms += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
const heapMb = () => Math.round(process.memoryUsage().heapUsed / 1e6);
function timeCalls(region: string, doc: DynamoDBDocumentClient) {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } catch (error) {
        const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
        const code = reasons
          ?.map((r) => r.Code)
          .filter((c) => c && c !== 'None')
          .join('+');
        const key = `${region} ${context.commandName} ! ${(error as Error).name}${code ? ` (${code})` : ''}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
        throw error;
      } finally {
        const key = `${region} ${context.commandName}`;
        const c = calls.get(key) ?? { n: 0, ms: 0 };
        c.n++;
        c.ms += performance.now() - started;
        calls.set(key, c);
      }
    },
    { step: 'initialize', name: 'probeTiming' },
  );
}

/** Scripts of ~`perPartition` events in each of `partitions` (half accounts, half profiles, by events). */
function scriptsIn(partitions: readonly number[], perPartition: number, tag: string, count: number) {
  const wanted = new Set(partitions);
  const scripts: SeedScript[] = [];
  const account = benchApplication.aggregates.find((a) => a.name === 'account')!;
  const profile = benchApplication.aggregates.find((a) => a.name === 'profile')!;
  const events = new Map(partitions.map((p) => [p, 0]));
  for (let i = 0; [...events.values()].some((n) => n < perPartition); i++) {
    const isAccount = i % 3 === 0; // one account (10 events) per two profiles (5 each): half the events each
    const id = `pg-${tag}-${isAccount ? 'a' : 'p'}${i}`;
    const p = partitionOf(id, count);
    if (!wanted.has(p) || events.get(p)! >= perPartition) continue;
    events.set(p, events.get(p)! + (isAccount ? PER_ACCOUNT : PER_PROFILE));
    scripts.push(
      isAccount
        ? {
            aggregate: account,
            aggregateId: id,
            origin: WRITERS[0]!,
            commands: [
              { type: 'OpenAccount', payload: { owner: `o${i}`, currency: 'EUR' } },
              ...Array.from({ length: PER_ACCOUNT - 1 }, (_, d) => ({
                type: 'Deposit',
                payload: { amount: d + 1 },
              })),
            ],
          }
        : {
            aggregate: profile,
            aggregateId: id,
            origin: WRITERS[i % 2]!,
            commands: Array.from({ length: PER_PROFILE }, (_, n) => ({
              type: 'SetDisplayName',
              payload: { displayName: `p${i}-${n}` },
            })),
          },
    );
  }
  return scripts;
}

async function main() {
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 0 },
  });
  try {
    const names = sandbox.topology.regions.map((r) => r.name);
    for (const from of names)
      for (const to of names)
        if (from !== to) sandbox.region(from).bus.removeRule(forwardRuleName(sandbox.topology.name, to));
    for (const name of names) timeCalls(name, sandbox.region(name).clients.doc);
    const count = sandbox.topology.partitions;
    const deps = sandboxRunbookDeps(sandbox.region(RUNS_IN), sandbox.regions);
    const cells = names.map((n) => deps.cell(n));
    const heal = async (partition: number) => {
      const trees = await timedStage('buildTrees', () => buildTrees(cells, partition));
      const differing = differingBuckets(trees);
      const started = performance.now();
      const report = await replayBuckets({
        partition,
        cells,
        differing,
        ...quorumOrphanRule(deps),
        branches: branchRules(deps),
      });
      return { report, replayMs: performance.now() - started };
    };
    const into = WRITERS.map((name) => {
      const region = sandbox.region(name);
      return { name, doc: region.clients.doc, tables: region.stores.tables };
    });
    const sets: Array<{ label: string; partitions: number[]; density: number; parallel: boolean }> = [];
    let next = 0;
    // Distinct partitions (37 is prime to the partition count, a power of two), spread over the ring.
    const take = () => Array.from({ length: perSet }, () => (next++ * 37 + 3) % count);
    if (perSet * 4 > count) throw new RangeError(`at most ${count / 4} partitions per set`);
    sets.push({ label: 'density 40, one at a time', partitions: take(), density: 40, parallel: false });
    sets.push({ label: 'density 390, one at a time', partitions: take(), density: 390, parallel: false });
    sets.push({
      label: `density 40, ${concurrent} at once`,
      partitions: take(),
      density: 40,
      parallel: true,
    });
    sets.push({
      label: `density 390, ${concurrent} at once`,
      partitions: take(),
      density: 390,
      parallel: true,
    });
    for (const set of sets.filter((s) => only.includes(`${s.density}${s.parallel ? 'c' : 's'}`))) {
      const scripts = scriptsIn(
        set.partitions,
        set.density,
        `${set.density}${set.parallel ? 'c' : 's'}`,
        count,
      );
      const seeded = await withoutPublishing(sandbox, WRITERS, () =>
        seedScripts(scripts, { topology: sandbox.topology, into }),
      );
      await sandbox.quiesce(60_000);
      calls.clear();
      errors.clear();
      gc.n = 0;
      gc.ms = 0;
      const heapBefore = heapMb();
      resetRepairStageTotals();
      const started = performance.now();
      const cpu = process.cpuUsage();
      let replayed = 0;
      const perPartition: number[] = [];
      const one = async (p: number) => {
        const t = performance.now();
        const { report } = await heal(p);
        replayed += Object.values(report.replayed).reduce((a, b) => a + b, 0);
        perPartition.push(Math.round(performance.now() - t));
        done.push(Math.round(performance.now() - started));
      };
      const done: number[] = [];
      if (set.parallel) {
        let i = 0;
        await Promise.all(
          Array.from({ length: concurrent }, async () => {
            while (i < set.partitions.length) await one(set.partitions[i++]!);
          }),
        );
      } else for (const p of set.partitions) await one(p);
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const stages = repairStageTotals();
      console.log(
        `\n== ${set.label}: ${seeded} events seeded, ${replayed} replayed, wall ${Math.round(wall)} ms`,
      );
      console.log(`   per event ${(wall / replayed).toFixed(2)} ms; per partition ${perPartition.join(' ')}`);
      const half = done[Math.floor(done.length / 2) - 1] ?? 0;
      console.log(
        `   first half of the partitions done at ${half} ms, the second half took ${Math.round(wall - half)} ms`,
      );
      console.log(
        `   node CPU ${Math.round((used.user + used.system) / 1000)} ms (${((used.user + used.system) / 1000 / replayed).toFixed(2)} ms/event); GC ${gc.n} pauses ${Math.round(gc.ms)} ms; heap ${heapBefore} -> ${heapMb()} MB`,
      );
      console.log(
        `   stages: ${REPAIR_STAGES.filter((s) => stages[s].calls > 0)
          .map((s) => `${s} ${Math.round(stages[s].ms)}/${stages[s].calls}`)
          .join(', ')}`,
      );
      for (const [key, c] of [...calls].sort((a, b) => b[1].ms - a[1].ms))
        console.log(
          `   ${key.padEnd(40)} ${String(c.n).padStart(6)} calls ${(c.ms / c.n).toFixed(2).padStart(8)} ms/call  ${(c.n / replayed).toFixed(3)} calls/event`,
        );
      for (const [key, n] of errors) console.log(`   error: ${key} x${n}`);
    }
  } finally {
    await sandbox.stop();
  }
}

await main();
