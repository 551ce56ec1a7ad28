import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Tier, Topology } from '../config/index.ts';
import { CostInputError } from './errors.ts';
import type { SagaShapes } from './sagas.ts';

const rate = z.number().nonnegative();
const share = z.number().min(0).max(1);

const aggregateTraffic = z.strictObject({
  /** Client writes (commands) per second, all regions together. */
  writesPerSecond: rate,
  /** Client reads per second, all regions together. */
  readsPerSecond: rate.default(0),
  eventsPerWrite: z.number().positive().max(100).default(1),
  /** Stored size of one event item (envelope + keys), bytes. */
  eventBytes: z
    .number()
    .int()
    .positive()
    .max(400 * 1024)
    .default(600),
  /** Stored size of one projection row, bytes. */
  stateBytes: z
    .number()
    .int()
    .positive()
    .max(400 * 1024)
    .default(800),
});
export type AggregateTraffic = z.infer<typeof aggregateTraffic>;

/** One saga type's traffic (e.g. `transfer`: `POST /v1/transfers`). */
const sagaTraffic = z.strictObject({
  /** Sagas begun per second, all regions together (each priced as confirmed). */
  perSecond: rate,
  /**
   * Share of the participants not co-located with the saga (a transfer's target) homed in another region
   * than the saga's home: their steps are forwarded there. Default: all (cross-region transfers).
   */
  crossRegionShare: share.default(1),
});
export type SagaTraffic = z.infer<typeof sagaTraffic>;

/** Duration of one invocation of each function, ms (what Lambda bills, and what concurrency follows). */
const durations = z.strictObject({
  api: z.number().positive().default(30),
  /** The forwarding region's API while it waits for the home (its own work plus a round trip). */
  apiForward: z.number().positive().default(150),
  /** GET /health: a probe write and the replication status, read in parallel. */
  health: z.number().positive().default(20),
  publisher: z.number().positive().default(40),
  applier: z.number().positive().default(25),
  /** One Repair task (BuildTrees, Diff, Replay) on a partition, before the reading it does. */
  runbookTask: z.number().positive().default(200),
  /**
   * One task of the Saga machine (Try, Decide, Confirm): a load and one to four quorum-acknowledged core
   * writes (a round trip to the nearest peer each), Confirm a forward to the target's home.
   */
  sagaTask: z.number().positive().default(300),
});

/**
 * A traffic profile: what the application does, per aggregate type, and the few facts about its users
 * the model cannot read from the code. Every field has a default except the aggregates' write rates.
 */
export const trafficProfileSchema = z.strictObject({
  name: z.string().min(1).default('custom'),
  aggregates: z.record(z.string(), aggregateTraffic),
  /**
   * Sagas begun per second by type (the application's sagas): their own aggregate's writes and their
   * participants' steps are priced from the saga's code path, not from `aggregates`.
   */
  sagas: z.record(z.string(), sagaTraffic).default({}),
  /** Share of the traffic each region receives (normalized); default: equal. */
  regionShare: z.record(z.string(), rate).optional(),
  /** Partitions that receive writes (default: every configured partition). */
  activePartitions: z.number().int().positive().optional(),
  /** Core writes that reach a region which is not their partition's home (then forwarded). */
  coreForwardShare: share.default(0.05),
  /** Client writes that carry an idempotencyKey. */
  idempotencyKeyShare: share.default(0),
  /** Reads that carry a consistency token naming another region. */
  tokenReadShare: share.default(0),
  /** Writes that create a new aggregate (first event: nothing to cache, a new projection row). */
  newAggregateShare: share.default(0.02),
  /** Months of events held (the events table is never trimmed; repair reads all of it every night). */
  historyMonths: z.number().nonnegative().default(12),
  durationsMs: durations.prefault({}),
  /** Log bytes per Lambda invocation (platform lines, Powertools logs, EMF). */
  logBytesPerInvocation: z.number().nonnegative().default(600),
  /** DNS queries reaching Route 53 per client request (resolvers cache for the record's TTL). */
  dnsQueriesPerRequest: z.number().nonnegative().default(0.01),
});
export type TrafficProfileInput = z.input<typeof trafficProfileSchema>;
export type TrafficProfile = z.output<typeof trafficProfileSchema>;

/** The default traffic of an aggregate type by tier, when no profile is given (README: "Cost"). */
export const DEFAULT_TRAFFIC_BY_TIER: Readonly<
  Record<Tier, { writesPerSecond: number; readsPerSecond: number }>
> = {
  core: { writesPerSecond: 20, readsPerSecond: 100 },
  important: { writesPerSecond: 10, readsPerSecond: 200 },
  ordinary: { writesPerSecond: 50, readsPerSecond: 10 },
};

/**
 * Whether an aggregate type is one of the application's sagas' own (its writes come from the saga's runs,
 * not from clients).
 */
export function isSagaType(type: string, sagas: SagaShapes): boolean {
  return Object.hasOwn(sagas, type);
}

/**
 * The default profile of a topology: DEFAULT_TRAFFIC_BY_TIER for each aggregate type but the sagas' own,
 * traffic equal per region, no sagas.
 */
export function defaultProfile(topology: Topology, sagas: SagaShapes): TrafficProfile {
  return parseProfile(
    {
      name: 'default',
      aggregates: Object.fromEntries(
        topology.aggregates
          .filter((a) => !isSagaType(a.type, sagas))
          .map((a) => [a.type, DEFAULT_TRAFFIC_BY_TIER[a.tier]]),
      ),
    },
    topology,
    sagas,
    'default profile',
  );
}

/**
 * Aggregate types and sagas of a profile the topology and the application do not know (or a saga's type
 * given writes).
 */
function typeProblems(
  profile: z.output<typeof trafficProfileSchema>,
  topology: Topology,
  sagas: SagaShapes,
): string[] {
  const types = new Set(topology.aggregates.map((a) => a.type));
  const problems: string[] = [];
  for (const type of Object.keys(profile.aggregates)) {
    if (!types.has(type))
      problems.push(`aggregates.${type}: no aggregate type "${type}" in ${topology.name}`);
    else if (isSagaType(type, sagas) && profile.aggregates[type]!.writesPerSecond > 0)
      problems.push(`aggregates.${type}: a saga's writes follow from its runs: give sagas.${type}.perSecond`);
  }
  const known = Object.keys(sagas).join(', ') || 'none';
  for (const [name, saga] of Object.entries(profile.sagas)) {
    if (!isSagaType(name, sagas)) problems.push(`sagas.${name}: no saga "${name}" (known: ${known})`);
    else if (saga.perSecond > 0 && !types.has(name))
      problems.push(`sagas.${name}: no aggregate type "${name}" in ${topology.name}`);
  }
  return problems;
}

/**
 * Validates a profile against the topology (known aggregate types and regions) and the application's
 * sagas, every problem listed.
 */
export function parseProfile(
  input: unknown,
  topology: Topology,
  sagas: SagaShapes,
  source: string,
): TrafficProfile {
  const result = trafficProfileSchema.safeParse(input);
  if (!result.success) {
    throw new CostInputError(
      source,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const profile = result.data;
  const problems = typeProblems(profile, topology, sagas);
  const regions = new Set(topology.regions.map((r) => r.name));
  for (const region of Object.keys(profile.regionShare ?? {}))
    if (!regions.has(region))
      problems.push(`regionShare.${region}: no region "${region}" in ${topology.name}`);
  if (profile.regionShare && Object.values(profile.regionShare).every((v) => v === 0))
    problems.push('regionShare: at least one region must receive traffic');
  if (profile.activePartitions !== undefined && profile.activePartitions > topology.partitions)
    problems.push(`activePartitions: ${topology.name} has ${topology.partitions} partitions`);
  if (problems.length > 0) throw new CostInputError(source, problems);
  return profile;
}

/** Reads and validates a profile file (JSON). */
export function readProfile(path: string, topology: Topology, sagas: SagaShapes): TrafficProfile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CostInputError(path, [(error as Error).message], { cause: error });
  }
  return parseProfile(json, topology, sagas, path);
}

/** Each region's share of the traffic (sums to 1). */
export function regionShares(profile: TrafficProfile, topology: Topology): Record<string, number> {
  const names = topology.regions.map((r) => r.name);
  const raw = names.map((name) => profile.regionShare?.[name] ?? (profile.regionShare ? 0 : 1));
  const total = raw.reduce((a, b) => a + b, 0);
  return Object.fromEntries(names.map((name, i) => [name, raw[i]! / total]));
}

/** The profile with every rate multiplied by `factor` (capacity searches scale the whole mix). */
export function scaleProfile(profile: TrafficProfile, factor: number): TrafficProfile {
  return {
    ...profile,
    aggregates: Object.fromEntries(
      Object.entries(profile.aggregates).map(([type, t]) => [
        type,
        { ...t, writesPerSecond: t.writesPerSecond * factor, readsPerSecond: t.readsPerSecond * factor },
      ]),
    ),
    sagas: Object.fromEntries(
      Object.entries(profile.sagas).map(([name, s]) => [name, { ...s, perSecond: s.perSecond * factor }]),
    ),
  };
}
