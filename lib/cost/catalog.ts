import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CostInputError, MissingPriceError } from './errors.ts';

/** Prices the model multiplies usage by, per region (`lib/cost/data/aws-prices-*.json`). */
export const PRICE_KEYS = [
  'dynamodb.writeRequestUnits',
  'dynamodb.readRequestUnits',
  'dynamodb.replicatedWriteRequestUnits',
  'dynamodb.storageGbMonth',
  'dynamodb.pitrGbMonth',
  'dynamodb.backupGbMonth',
  'lambda.requests',
  'lambda.armGbSeconds',
  'apigateway.httpRequests',
  'eventbridge.customEvents',
  'eventbridge.crossRegionEvents',
  'stepfunctions.standardTransitions',
  'cloudwatch.alarms',
  'cloudwatch.highResolutionAlarms',
  'cloudwatch.customMetrics',
  'cloudwatch.dashboards',
  'cloudwatch.logsIngestedGb',
  'cloudwatch.logsStoredGbMonth',
  'cloudwatch.apiRequests',
  'cloudwatch.metricsRequested',
  'xray.tracesRecorded',
  'sqs.requests',
  'kms.keys',
  'secretsmanager.secrets',
  'secretsmanager.apiCalls',
  'datatransfer.interRegionGb',
] as const;
export type PriceKey = (typeof PRICE_KEYS)[number];

/** Prices of global services (Route 53). */
export const GLOBAL_PRICE_KEYS = [
  'route53.hostedZones',
  'route53.latencyQueries',
  'route53.standardQueries',
  'route53.healthChecksAws',
  'route53.healthCheckFeature',
] as const;
export type GlobalPriceKey = (typeof GLOBAL_PRICE_KEYS)[number];

/** Quotas capacity is checked against, per region (`lib/cost/data/aws-quotas-*.json`). */
export const QUOTA_KEYS = [
  'eventbridge.putEventsPerSecond',
  'eventbridge.invocationsPerSecond',
  'lambda.concurrentExecutions',
  'apigateway.requestsPerSecond',
  'dynamodb.tableWriteUnitsPerSecond',
  'dynamodb.tableReadUnitsPerSecond',
  'stepfunctions.stateTransitionsPerSecond',
  'stepfunctions.startExecutionsPerSecond',
] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

/** Limits that are the same everywhere (hard limits and service facts). */
export const GLOBAL_QUOTA_KEYS = [
  'dynamodb.partitionKeyWriteUnitsPerSecond',
  'dynamodb.partitionKeyReadUnitsPerSecond',
  'dynamodb.streamShardWriteUnitsPerSecond',
  'lambda.streamPollsPerSecond',
  'route53.healthCheckersPerCheck',
] as const;
export type GlobalQuotaKey = (typeof GLOBAL_QUOTA_KEYS)[number];

/** How a figure was established: checked against a copy of the page, from the authors' knowledge, or estimated. */
const basis = z.enum(['confirmed', 'recalled', 'estimate']);

const priceEntry = z.strictObject({
  usd: z.number().nonnegative(),
  /** The price is for this many units. */
  per: z.number().positive(),
  unit: z.string().min(1),
  /** The AWS page the price comes from. */
  source: z.url(),
  basis,
  note: z.string().optional(),
});
export type PriceEntry = z.infer<typeof priceEntry>;

const quotaEntry = z.strictObject({
  value: z.number().positive(),
  unit: z.string().min(1),
  source: z.url(),
  basis,
  adjustable: z.boolean(),
  /** What to raise (or change) when this limit binds. */
  raise: z.string().min(1),
  note: z.string().optional(),
});
export type QuotaEntry = z.infer<typeof quotaEntry>;

function listSchema<E extends z.ZodType>(entry: E, asOf: 'pricesAsOf' | 'quotasAsOf') {
  return z.strictObject({
    schema: z.literal(1),
    version: z.string().min(1),
    currency: z.literal('USD').optional(),
    [asOf]: z.iso.date(),
    notice: z.string().min(1),
    regions: z.record(z.string(), z.record(z.string(), entry)),
    global: z.record(z.string(), entry).default({}),
  });
}

const priceListSchema = listSchema(priceEntry, 'pricesAsOf');
const quotaListSchema = listSchema(quotaEntry, 'quotasAsOf');

/** A versioned list of prices or quotas: the default file, possibly overridden entry by entry. */
export interface Catalog<E, K extends string, G extends string> {
  readonly version: string;
  /** Date of the figures (prices or quotas). */
  readonly asOf: string;
  readonly notice: string;
  /** The files it was read from, default first. */
  readonly files: readonly string[];
  regions(): string[];
  get(region: string, key: K): E;
  global(key: G): E;
  /** Throws MissingPriceError unless every key is there for every region. */
  require(regions: readonly string[]): void;
}

type Raw<E> = {
  version: string;
  asOf: string;
  notice: string;
  regions: Record<string, Record<string, E>>;
  global: Record<string, E>;
};

function parse<E>(schema: z.ZodType, asOf: string, json: unknown, source: string): Raw<E> {
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new CostInputError(
      source,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const data = result.data as Record<string, unknown>;
  return {
    version: String(data.version),
    asOf: String(data[asOf]),
    notice: String(data.notice),
    regions: data.regions as Record<string, Record<string, E>>,
    global: data.global as Record<string, E>,
  };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CostInputError(path, [(error as Error).message], { cause: error });
  }
}

function catalogOf<E, K extends string, G extends string>(
  kind: 'price' | 'quota',
  layers: ReadonlyArray<{ file: string; raw: Raw<E> }>,
  keys: { regional: readonly K[]; global: readonly G[] },
): Catalog<E, K, G> {
  const regions: Record<string, Record<string, E>> = {};
  const global: Record<string, E> = {};
  for (const { raw } of layers) {
    for (const [region, entries] of Object.entries(raw.regions))
      regions[region] = { ...regions[region], ...entries };
    Object.assign(global, raw.global);
  }
  const unknown = [...Object.values(regions).flatMap((e) => Object.keys(e)), ...Object.keys(global)].filter(
    (k) =>
      !(keys.regional as readonly string[]).includes(k) && !(keys.global as readonly string[]).includes(k),
  );
  if (unknown.length > 0)
    throw new CostInputError(
      layers.at(-1)!.file,
      [...new Set(unknown)].map((k) => `unknown ${kind} "${k}"`),
    );
  const top = layers.at(-1)!.raw;
  const missing = (region: string) => keys.regional.filter((k) => !regions[region]?.[k]);
  return {
    version: top.version,
    asOf: top.asOf,
    notice: top.notice,
    files: layers.map((l) => l.file),
    regions: () => Object.keys(regions).sort(),
    get(region, key) {
      const entry = regions[region]?.[key];
      if (!entry) throw new MissingPriceError(kind, region, [key]);
      return entry;
    },
    global(key) {
      const entry = global[key];
      if (!entry) throw new MissingPriceError(kind, 'global', [key]);
      return entry;
    },
    require(wanted) {
      for (const region of wanted) {
        const absent = missing(region);
        if (absent.length > 0) throw new MissingPriceError(kind, region, absent);
      }
      const absentGlobal = keys.global.filter((k) => !global[k]);
      if (absentGlobal.length > 0) throw new MissingPriceError(kind, 'global', absentGlobal);
    },
  };
}

export type PriceList = Catalog<PriceEntry, PriceKey, GlobalPriceKey>;
export type QuotaList = Catalog<QuotaEntry, QuotaKey, GlobalQuotaKey>;

/** The versioned data files shipped with the model. */
export const DEFAULT_PRICES_FILE = new URL('./data/aws-prices-2026-01.json', import.meta.url).pathname;
export const DEFAULT_QUOTAS_FILE = new URL('./data/aws-quotas-2026-01.json', import.meta.url).pathname;

/**
 * The shipped price list, overridden entry by entry by `overrideFile` (same shape; any subset of regions
 * and prices, new regions included).
 * @example loadPriceList().get('us-east-1', 'dynamodb.writeRequestUnits').usd
 */
export function loadPriceList(overrideFile?: string): PriceList {
  const files = [DEFAULT_PRICES_FILE, ...(overrideFile ? [overrideFile] : [])];
  const layers = files.map((file) => ({
    file,
    raw: parse<PriceEntry>(priceListSchema, 'pricesAsOf', readJson(file), file),
  }));
  return catalogOf('price', layers, { regional: PRICE_KEYS, global: GLOBAL_PRICE_KEYS });
}

/** The shipped quota list, overridden entry by entry by `overrideFile` (your account's Service Quotas). */
export function loadQuotaList(overrideFile?: string): QuotaList {
  const files = [DEFAULT_QUOTAS_FILE, ...(overrideFile ? [overrideFile] : [])];
  const layers = files.map((file) => ({
    file,
    raw: parse<QuotaEntry>(quotaListSchema, 'quotasAsOf', readJson(file), file),
  }));
  return catalogOf('quota', layers, { regional: QUOTA_KEYS, global: GLOBAL_QUOTA_KEYS });
}
