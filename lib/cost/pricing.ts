import type { Topology } from '../config/index.ts';
import type { GlobalPriceKey, PriceKey, PriceList } from './catalog.ts';
import type { Inventory } from './inventory.ts';
import type { RegionStorage } from './storage.ts';
import { type CostTier, SECONDS_PER_MONTH, type Service, type UsageLine } from './usage-types.ts';

/** One priced quantity: a month of it in one region for one tier. */
export interface CostLine {
  readonly region: string;
  readonly service: Service;
  /** What is billed: "write request units", "GB-seconds", ... */
  readonly item: string;
  readonly tier: CostTier;
  /** The aggregate type the cost is caused by (absent: shared). */
  readonly aggregateType?: string;
  readonly quantity: number;
  readonly price: { readonly key: PriceKey | GlobalPriceKey; readonly usd: number; readonly per: number };
  readonly usd: number;
}

/** Archived CloudWatch logs are stored compressed: about this share of the ingested bytes. */
const LOG_COMPRESSION = 0.15;
/** Log groups without a retention keep a month's logs for this many months in the steady state we price. */
const UNBOUNDED_LOG_MONTHS = 12;
const GB = 1e9;
const DAYS_PER_MONTH = 730 / 24;

interface PricedItem<K> {
  readonly service: Service;
  readonly item: string;
  readonly key: K;
  readonly tier: CostTier;
  readonly aggregateType?: string | undefined;
  readonly quantity: number;
}
type Priced = (region: string, item: PricedItem<PriceKey>) => void;
type PricedGlobal = (item: PricedItem<GlobalPriceKey>) => void;

/** Per-request prices of the operations that are not DynamoDB's (a month of each request). */
const REQUEST_PRICES: Readonly<
  Record<string, { service: Service; item: string; key: PriceKey; of: 'requests' | 'billed' }>
> = {
  'apigateway:Request': {
    service: 'apigateway',
    item: 'HTTP API requests',
    key: 'apigateway.httpRequests',
    of: 'billed',
  },
  'events:CustomEvent': {
    service: 'events',
    item: 'custom events published',
    key: 'eventbridge.customEvents',
    of: 'billed',
  },
  'states:StateTransition': {
    service: 'states',
    item: 'state transitions',
    key: 'stepfunctions.standardTransitions',
    of: 'billed',
  },
  'xray:Trace': { service: 'xray', item: 'traces recorded', key: 'xray.tracesRecorded', of: 'billed' },
  'cloudwatch:GetMetricData': {
    service: 'cloudwatch',
    item: 'metrics requested (GetMetricData)',
    key: 'cloudwatch.metricsRequested',
    of: 'billed',
  },
  'cloudwatch:DescribeAlarms': {
    service: 'cloudwatch',
    item: 'API requests',
    key: 'cloudwatch.apiRequests',
    of: 'billed',
  },
  'sqs:GetQueueAttributes': { service: 'sqs', item: 'requests', key: 'sqs.requests', of: 'billed' },
  'secretsmanager:GetSecretValue': {
    service: 'secretsmanager',
    item: 'API calls',
    key: 'secretsmanager.apiCalls',
    of: 'billed',
  },
};

/** What one usage line bills: quantities a month, each at a price key; Route 53 ones are global. */
type Billed =
  | {
      readonly service: Service;
      readonly item: string;
      readonly key: PriceKey;
      readonly quantity: number;
      readonly region: string;
    }
  | {
      readonly service: Service;
      readonly item: string;
      readonly key: GlobalPriceKey;
      readonly quantity: number;
      readonly global: true;
    };

function billedOf(line: UsageLine, topology: Topology): Billed[] {
  const m = SECONDS_PER_MONTH;
  const here = (service: Service, item: string, key: PriceKey, quantity: number): Billed => ({
    service,
    item,
    key,
    quantity,
    region: line.region,
  });
  const known = REQUEST_PRICES[line.operation];
  if (known) return [here(known.service, known.item, known.key, line[known.of] * m)];
  switch (line.operation) {
    case 'lambda:Invoke':
      return [
        here('lambda', 'requests', 'lambda.requests', line.requests * m),
        here('lambda', 'GB-seconds (arm64)', 'lambda.armGbSeconds', line.billed * m),
      ];
    case 'logs:Ingest':
      return [here('cloudwatch', 'logs ingested (GB)', 'cloudwatch.logsIngestedGb', line.billed * m)];
    case 'route53:Query': {
      const latency = topology.gtm.policy === 'latency';
      const key = latency ? 'route53.latencyQueries' : 'route53.standardQueries';
      return [
        {
          service: 'route53',
          item: latency ? 'latency-based queries' : 'queries',
          key,
          quantity: line.billed * m,
          global: true,
        },
      ];
    }
  }
  if (line.operation === 'events:PutEvents' && line.fn === 'forward-rule')
    return [here('events', 'events sent to other regions', 'eventbridge.crossRegionEvents', line.billed * m)];
  if (line.service === 'dynamodb')
    return [
      here('dynamodb', 'read request units', 'dynamodb.readRequestUnits', line.readUnits * m),
      here(
        'dynamodb',
        'write request units',
        'dynamodb.writeRequestUnits',
        (line.writeUnits + line.indexWriteUnits) * m,
      ),
    ];
  // Inter-region transfer is billed where the bytes leave.
  const transfer: Billed = {
    service: 'datatransfer',
    item: 'GB to other regions',
    key: 'datatransfer.interRegionGb',
    quantity: (line.bytesOut * m) / GB,
    region: line.from,
  };
  return [transfer];
}

function priceUsage(line: UsageLine, add: Priced, topology: Topology, addGlobal: PricedGlobal): void {
  const owner = { tier: line.tier, aggregateType: line.aggregateType };
  for (const billed of billedOf(line, topology)) {
    if (billed.quantity <= 0) continue;
    if ('global' in billed) addGlobal({ ...billed, ...owner });
    else add(billed.region, { ...billed, ...owner });
  }
}

function priceStorage(s: RegionStorage, add: Priced, topology: Topology): void {
  const held = Object.entries(s.eventsByType);
  const total = held.reduce((sum, [, h]) => sum + h.events, 0);
  const gb = (s.events + s.eventsIndex + s.state + s.idempotency) / GB;
  for (const [aggregateType, { tier, events }] of held) {
    const share = total > 0 ? events / total : 1 / held.length;
    const item = { service: 'dynamodb' as const, tier, aggregateType, quantity: gb * share };
    add(s.region, { ...item, item: 'storage (GB-month)', key: 'dynamodb.storageGbMonth' });
    if (topology.tables.pointInTimeRecovery)
      add(s.region, { ...item, item: 'point-in-time recovery (GB-month)', key: 'dynamodb.pitrGbMonth' });
  }
}

function priceInventory(inventory: Inventory, add: Priced, addGlobal: PricedGlobal): void {
  const fixed = { tier: 'platform' as const, service: 'cloudwatch' as const };
  const each = (region: string, counts: Inventory['global'] | Inventory['regions'][number]) => {
    add(region, {
      ...fixed,
      item: 'alarm metrics',
      key: 'cloudwatch.alarms',
      quantity: counts.alarmMetrics - counts.highResolutionAlarmMetrics,
    });
    add(region, {
      ...fixed,
      item: 'high-resolution alarm metrics',
      key: 'cloudwatch.highResolutionAlarms',
      quantity: counts.highResolutionAlarmMetrics,
    });
    add(region, { ...fixed, item: 'dashboards', key: 'cloudwatch.dashboards', quantity: counts.dashboards });
    add(region, {
      ...fixed,
      service: 'kms',
      item: 'customer managed keys',
      key: 'kms.keys',
      quantity: counts.kmsKeys,
    });
  };
  for (const inv of inventory.regions) {
    each(inv.region, inv);
    add(inv.region, {
      ...fixed,
      item: 'custom metrics (EMF)',
      key: 'cloudwatch.customMetrics',
      quantity: inv.customMetrics,
    });
    add(inv.region, {
      ...fixed,
      service: 'secretsmanager',
      item: 'secrets (internal key)',
      key: 'secretsmanager.secrets',
      quantity: inv.secrets,
    });
  }
  const g = inventory.global;
  each('us-east-1', g);
  const route53 = { tier: 'platform' as const, service: 'route53' as const };
  addGlobal({ ...route53, item: 'health checks', key: 'route53.healthChecksAws', quantity: g.healthChecks });
  addGlobal({
    ...route53,
    item: `health-check features (${g.healthCheckFeatures.join(', ')})`,
    key: 'route53.healthCheckFeature',
    quantity: g.healthChecks * g.healthCheckFeatures.length,
  });
  addGlobal({ ...route53, item: 'hosted zone', key: 'route53.hostedZones', quantity: g.hostedZones });
}

/** Logs held: a month of ingestion kept for the log groups' retention (compressed). */
function priceLogStorage(lines: Map<string, CostLine>, inventory: Inventory, add: Priced): void {
  for (const inv of inventory.regions) {
    const ingested = [...lines.values()]
      .filter((l) => l.region === inv.region && l.price.key === 'cloudwatch.logsIngestedGb')
      .reduce((sum, l) => sum + l.quantity, 0);
    const months =
      inv.logRetentionDays === undefined ? UNBOUNDED_LOG_MONTHS : inv.logRetentionDays / DAYS_PER_MONTH;
    add(inv.region, {
      tier: 'platform',
      service: 'cloudwatch',
      item: `logs stored (GB-month, ${inv.logRetentionDays ?? 'unlimited'} days)`,
      key: 'cloudwatch.logsStoredGbMonth',
      quantity: ingested * months * LOG_COMPRESSION,
    });
  }
}

/**
 * A month of usage, storage and fixed resources at the given prices: one line per region, service, item,
 * tier and aggregate type. Route 53 lines are `global`.
 */
export function priceMonth(input: {
  topology: Topology;
  usage: readonly UsageLine[];
  storage: readonly RegionStorage[];
  inventory: Inventory;
  prices: PriceList;
}): CostLine[] {
  const { topology, prices } = input;
  const lines = new Map<string, CostLine>();
  const put = (
    region: string,
    item: PricedItem<PriceKey | GlobalPriceKey>,
    entry: { usd: number; per: number },
  ) => {
    if (item.quantity <= 0) return;
    const id = `${region}|${item.service}|${item.item}|${item.tier}|${item.aggregateType ?? ''}`;
    const quantity = (lines.get(id)?.quantity ?? 0) + item.quantity;
    lines.set(id, {
      region,
      service: item.service,
      item: item.item,
      tier: item.tier,
      ...(item.aggregateType ? { aggregateType: item.aggregateType } : {}),
      quantity,
      price: { key: item.key, usd: entry.usd, per: entry.per },
      usd: (quantity * entry.usd) / entry.per,
    });
  };
  const add: Priced = (region, item) => put(region, item, prices.get(region, item.key));
  const addGlobal: PricedGlobal = (item) => put('global', item, prices.global(item.key));
  for (const line of input.usage) priceUsage(line, add, topology, addGlobal);
  for (const s of input.storage) priceStorage(s, add, topology);
  priceInventory(input.inventory, add, addGlobal);
  priceLogStorage(lines, input.inventory, add);
  return [...lines.values()];
}

/** Sums of cost lines by a key. */
export function totalsBy<K extends string>(
  lines: readonly CostLine[],
  key: (line: CostLine) => K,
): Record<K, number> {
  const totals = {} as Record<K, number>;
  for (const line of lines) totals[key(line)] = (totals[key(line)] ?? 0) + line.usd;
  return totals;
}
