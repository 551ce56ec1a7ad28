import { join, relative, resolve } from 'node:path';
import { CONFIG_FILE } from '../../lib/app/index.ts';
import { type ChangeImpact, type CostDelta, changeImpact, impactMarkdown } from '../../lib/change/index.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { loadPriceList, loadQuotaList } from '../../lib/cost/catalog.ts';
import { CostError } from '../../lib/cost/errors.ts';
import { inventoryOf } from '../../lib/cost/inventory.ts';
import { modelWorkload, monthlyCost } from '../../lib/cost/model.ts';
import {
  DEFAULT_TRAFFIC_BY_TIER,
  isSagaType,
  parseProfile,
  type TrafficProfile,
} from '../../lib/cost/profile.ts';
import { awsRuntime } from '../../lib/cost/runtime.ts';
import type { SagaShapes } from '../../lib/cost/sagas.ts';
import { UsageError } from '../../lib/ops/errors.ts';
import { environmentStackNames } from '../../lib/sandbox/cdk/stacks.ts';
import { loadTemplates, PROJECT_ROOT } from '../../lib/sandbox/cdk/templates.ts';
import { cliApplication } from './application.ts';
import { cliSagaShapes, profileOf, type TrafficFlags } from './cost.ts';
import { refSide, repositoryRoot, workingTreeSide } from './plan-source.ts';

export interface PlanFlags extends TrafficFlags {
  readonly against: string;
  readonly migration?: string;
}

/**
 * The same traffic on another topology: each type keeps its rates; a type only there gets its tier's
 * default, except a saga's own type, whose writes follow from the saga's runs (`sagas`), as in the default
 * profile.
 */
function sameTraffic(profile: TrafficProfile, topology: Topology, sagas: SagaShapes): TrafficProfile {
  const aggregates = Object.fromEntries(
    topology.aggregates
      .filter((a) => a.type in profile.aggregates || !isSagaType(a.type, sagas))
      .map((a) => [a.type, profile.aggregates[a.type] ?? DEFAULT_TRAFFIC_BY_TIER[a.tier]]),
  );
  const regions = regionNames(topology);
  const shares = profile.regionShare
    ? Object.fromEntries(Object.entries(profile.regionShare).filter(([r]) => regions.includes(r)))
    : undefined;
  const { activePartitions, ...rest } = profile;
  return parseProfile(
    {
      ...rest,
      aggregates,
      ...(shares && Object.keys(shares).length > 0 ? { regionShare: shares } : {}),
      ...(activePartitions !== undefined && activePartitions <= topology.partitions
        ? { activePartitions }
        : {}),
    },
    topology,
    sagas,
    `the traffic profile on ${topology.name}`,
  );
}

/**
 * Both months at the same prices, from the current code's stacks and sagas (a region they lack is
 * estimated).
 */
async function costDelta(
  before: Topology,
  after: Topology,
  flags: PlanFlags & { config: string },
): Promise<CostDelta> {
  // The traffic as it is today (the default profile follows each type's tier there): the change must not
  // change what the users do.
  const sagas = cliSagaShapes();
  const profile = profileOf(before, sagas, flags);
  const prices = loadPriceList(flags.prices);
  const quotas = loadQuotaList(flags.quotas);
  const { templates } = await loadTemplates({
    topology: after,
    config: flags.config,
    stackNames: environmentStackNames(after.name, regionNames(after)),
    cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
  });
  const month = (topology: Topology) => {
    const inventory = inventoryOf(topology, templates);
    const traffic = sameTraffic(profile, topology, sagas);
    prices.require(regionNames(topology));
    const workload = modelWorkload(topology, traffic, awsRuntime(topology, quotas, sagas), inventory);
    return monthlyCost({ topology, workload, inventory, prices });
  };
  const a = month(before);
  const b = month(after);
  const services = [...new Set([...Object.keys(a.byService), ...Object.keys(b.byService)])];
  return {
    profile: profile.name,
    pricesAsOf: prices.asOf,
    before: a.total,
    after: b.total,
    byService: Object.fromEntries(
      services.map((s) => [
        s,
        {
          before: a.byService[s as keyof typeof a.byService] ?? 0,
          after: b.byService[s as keyof typeof b.byService] ?? 0,
        },
      ]),
    ),
  };
}

const differ = (a: readonly number[] | undefined, b: readonly number[] | undefined) =>
  a !== undefined && b !== undefined && a.some((p, i) => p !== b[i]);

/**
 * `multiactive plan`: the environment's topology as the application config in the working tree of the
 * repository around the current directory defines it, against the same config at a git ref; the impact
 * report in Markdown and the CI exit code.
 */
export async function planCommand(flags: PlanFlags): Promise<{ impact: ChangeImpact; lines: string[] }> {
  const root = repositoryRoot(process.cwd());
  const configFile = cliApplication().module ?? resolve(CONFIG_FILE);
  const config = relative(root, configFile);
  if (config.startsWith('..')) throw new UsageError(`${configFile} is outside the repository ${root}`);
  const now = await workingTreeSide(root, config, flags.env);
  const then = await refSide(root, {
    env: flags.env,
    ref: flags.against,
    config,
    partitions: now.topology.partitions,
  });
  let cost: CostDelta;
  try {
    cost = await costDelta(then.topology, now.topology, { ...flags, config: configFile });
  } catch (error) {
    if (error instanceof CostError) throw new UsageError(error.message);
    throw error;
  }
  const impact = changeImpact({
    before: then.topology,
    after: now.topology,
    against: then.label,
    current: now.label,
    cost,
    hashChanged:
      then.topology.partitions === now.topology.partitions &&
      differ(then.partitionsOfSamples, now.partitionsOfSamples),
    ...(flags.migration ? { migration: flags.migration } : {}),
  });
  return { impact, lines: impactMarkdown(impact) };
}
