import { join, relative } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { CONFIG_FILE } from '../../lib/app/index.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { capacity, type RegionCapacity } from '../../lib/cost/capacity.ts';
import { loadPriceList, loadQuotaList } from '../../lib/cost/catalog.ts';
import { CostError } from '../../lib/cost/errors.ts';
import { type Inventory, inventoryOf } from '../../lib/cost/inventory.ts';
import { defaultProfile, parseProfile, readProfile, type TrafficProfile } from '../../lib/cost/profile.ts';
import { capacityLines, costLines } from '../../lib/cost/render.ts';
import { type CostReport, costReport } from '../../lib/cost/report.ts';
import { awsRuntime } from '../../lib/cost/runtime.ts';
import { type SagaShapes, sagaShapes } from '../../lib/cost/sagas.ts';
import { UsageError } from '../../lib/ops/errors.ts';
import { environmentStackNames } from '../../lib/sandbox/cdk/stacks.ts';
import { loadTemplates, PROJECT_ROOT } from '../../lib/sandbox/cdk/templates.ts';
import { cliApplication, cliTopology } from './application.ts';

/** The traffic flags of `cost` and `capacity` (commander's parsed options). */
export interface TrafficFlags {
  readonly env: string;
  readonly profile?: string;
  readonly writes?: Record<string, number>;
  readonly reads?: Record<string, number>;
  /** Sagas begun per second by saga type (`transfer=5`). */
  readonly sagas?: Record<string, number>;
  readonly eventBytes?: number;
  readonly partitions?: number;
  readonly regionShare?: Record<string, number>;
  readonly historyMonths?: number;
  readonly prices?: string;
  readonly quotas?: string;
}

/** `TYPE=N,TYPE=N` (repeatable) into a record; N a non-negative number. */
export function rates(flag: string) {
  return (value: string, previous: Record<string, number> = {}) => {
    const out = { ...previous };
    for (const pair of value.split(',').filter(Boolean)) {
      const [key, raw] = pair.split('=');
      const n = Number(raw);
      if (!key || raw === undefined || raw === '' || !Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError(`${flag} is NAME=NUMBER[,NAME=NUMBER], e.g. account=20,profile=5`);
      out[key] = n;
    }
    return out;
  };
}

/** The sagas of the application the CLI acts on, as the cost model prices them. */
export function cliSagaShapes(): SagaShapes {
  return sagaShapes(cliApplication().sagas);
}

/**
 * The profile the flags describe: the file's or the default, with the flags on top (validated against the
 * topology and the application's sagas).
 */
export function profileOf(topology: Topology, shapes: SagaShapes, flags: TrafficFlags): TrafficProfile {
  const base = flags.profile
    ? readProfile(flags.profile, topology, shapes)
    : defaultProfile(topology, shapes);
  const types = new Set([
    ...Object.keys(base.aggregates),
    ...Object.keys(flags.writes ?? {}),
    ...Object.keys(flags.reads ?? {}),
  ]);
  const aggregates = Object.fromEntries(
    [...types].map((type) => {
      const known = base.aggregates[type];
      return [
        type,
        {
          ...known,
          writesPerSecond: flags.writes?.[type] ?? known?.writesPerSecond ?? 0,
          readsPerSecond: flags.reads?.[type] ?? known?.readsPerSecond ?? 0,
          ...(flags.eventBytes === undefined ? {} : { eventBytes: flags.eventBytes }),
        },
      ];
    }),
  );
  const sagas = { ...base.sagas };
  for (const [name, perSecond] of Object.entries(flags.sagas ?? {}))
    sagas[name] = { crossRegionShare: 1, ...sagas[name], perSecond };
  const custom = flags.writes || flags.reads || flags.sagas || flags.eventBytes !== undefined;
  return parseProfile(
    {
      ...base,
      ...(custom && !flags.profile ? { name: 'default with flags' } : {}),
      aggregates,
      sagas,
      ...(flags.partitions === undefined ? {} : { activePartitions: flags.partitions }),
      ...(flags.regionShare ? { regionShare: flags.regionShare } : {}),
      ...(flags.historyMonths === undefined ? {} : { historyMonths: flags.historyMonths }),
    },
    topology,
    shapes,
    flags.profile ?? 'the traffic flags',
  );
}

/** The environment's synthesized stacks (cached in .sandbox/cdk; synthesized offline when missing). */
export async function inventoryFor(topology: Topology, progress: (line: string) => void): Promise<Inventory> {
  const cacheDir = join(PROJECT_ROOT, '.sandbox', 'cdk');
  const { templates, source } = await loadTemplates({
    topology,
    config: cliApplication().module ?? CONFIG_FILE,
    stackNames: environmentStackNames(topology.name, regionNames(topology)),
    cacheDir,
  });
  if (source === 'synth') progress(`synthesized the ${topology.name} stacks (cached in .sandbox/cdk)`);
  return inventoryOf(topology, templates);
}

/** Bad profile, price or quota input is a usage error (exit 2), with the problems listed. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CostError) throw new UsageError(error.message);
    throw error;
  }
}

/** `multiactive cost`: the month of the environment under the profile, the alternatives, the advice. */
export function costCommand(flags: TrafficFlags): Promise<{ report: CostReport; lines: string[] }> {
  return asUsage(async () => {
    const topology = cliTopology(flags.env);
    const sagas = cliSagaShapes();
    const profile = profileOf(topology, sagas, flags);
    const prices = loadPriceList(flags.prices);
    const quotas = loadQuotaList(flags.quotas);
    const inventory = await inventoryFor(topology, (line) => console.error(line));
    const report = costReport({
      topology,
      profile,
      runtime: awsRuntime(topology, quotas, sagas),
      inventory,
      prices,
    });
    const files = report.prices.files.map((f) => relative(process.cwd(), f) || f);
    return { report, lines: costLines({ ...report, prices: { ...report.prices, files } }) };
  });
}

/** `multiactive capacity`: per region, the write rate at which each limit binds. */
export function capacityCommand(
  flags: TrafficFlags,
): Promise<{ regions: RegionCapacity[]; lines: string[] }> {
  return asUsage(async () => {
    const topology = cliTopology(flags.env);
    const sagas = cliSagaShapes();
    const profile = profileOf(topology, sagas, flags);
    const quotas = loadQuotaList(flags.quotas);
    quotas.require(regionNames(topology));
    const regions = capacity({ topology, profile, runtime: awsRuntime(topology, quotas, sagas), quotas });
    return { regions, lines: capacityLines(topology.name, regions) };
  });
}

const number = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number`);
  return n;
};

/** The traffic profile's options of `cost` and `capacity`. */
export function trafficOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--env <env>', 'the environment (of the application config)')
    .option('--profile <file>', 'a traffic profile (JSON, README "Cost"); default: the default profile')
    .option(
      '--writes <type=n>',
      'writes/s per aggregate type, all regions together (repeatable)',
      rates('--writes'),
    )
    .option('--reads <type=n>', 'reads/s per aggregate type (repeatable)', rates('--reads'))
    .option(
      '--sagas <saga=n>',
      'sagas begun per second by saga type, e.g. transfer=5 (priced as confirmed, cross-region)',
      rates('--sagas'),
    )
    .option('--event-bytes <n>', 'stored size of one event item, bytes', number('--event-bytes'))
    .option('--partitions <n>', 'partitions that take writes (default: all)', number('--partitions'))
    .option(
      '--region-share <region=share>',
      'share of the traffic per region (default: equal)',
      rates('--region-share'),
    )
    .option('--history-months <n>', 'months of events held', number('--history-months'))
    .option('--quotas <file>', 'quotas over the shipped list (your account: Service Quotas)');
}
