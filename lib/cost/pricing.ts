import type { Topology } from '../config/index.ts';
import type { GlobalPriceKey, PriceKey, PriceList } from './catalog.ts';
import type { GlobalInventory, RegionInventory } from './inventory.ts';
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
const GB = 1e9;

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

function priceUsage(line: UsageLine, add: Priced, topology: Topology, globalAdd: PricedGlobal): void {
  const m = SECONDS_PER_MONTH;
  const at = (service: Service, item: string, key: PriceKey, quantity: number) => {
    if (quantity > 0)
      add(line.region, { service, item, key, tier: line.tier, aggregateType: line.aggregateType, quantity });
  };
  switch (line.operation) {
    case 'lambda:Invoke':
      at('lambda', 'requests', 'lambda.requests', line.requests * m);
      at('lambda', 'GB-seconds (arm64)', 'lambda.armGbSeconds', line.billed * m);
      return;
    case 'apigateway:Request':
      return at('apigateway', 'HTTP API requests', 'apigateway.httpRequests', line.billed * m);
    case 'events:CustomEvent':
      return at('events', 'custom events published', 'eventbridge.customEvents', line.billed * m);
    case 'events:CrossRegionDelivery':
      return at('events', 'events delivered to other regions', 'eventbridge.crossRegionEvents', line.billed * m);
    case 'states:StateTransition':
      return at('states', 'state transitions', 'stepfunctions.standardTransitions', line.billed * m);
    case 'xray:Trace':
      return at('xray', 'traces recorded', 'xray.tracesRecorded', line.billed * m);
    case 'logs:Ingest':
      at('cloudwatch', 'logs ingested (GB)', 'cloudwatch.logsIngestedGb', line.billed * m);
      at('cloudwatch', 'logs stored (GB-month)', 'cloudwatch.logsStoredGbMonth', line.billed * m * LOG_COMPRESSION);
      return;
    case 'route53:Query': {
      const latency = topology.gtm.policy === 'latency';
      globalAdd({
        service: 'route53',
        item: latency ? 'latency-based queries' : 'queries',
        key: latency ? 'route53.latencyQueries' : 'route53.standardQueries',
        tier: line.tier,
        aggregateType: line.aggregateType,
        quantity: line.billed * m,
      });
      return;
    }
  }
  if (line.service === 'dynamodb') {
    at('dynamodb', 'read request units', 'dynamodb.readRequestUnits', line.readUnits * m);
    at('dynamodb', 'write request units', 'dynamodb.writeRequestUnits', (line.writeUnits + line.indexWriteUnits) * m);
  }
  if (line.bytesOut > 0) at('datatransfer', 'GB to other regions', 'datatransfer.interRegionGb', (line.bytesOut * m) / GB);
}

/**
 * A month of usage, storage and fixed resources at the given prices: one line per region, service, item
 * and tier. Route 53 lines are `global`.
 */
export function priceMonth(input: {
  topology: Topology;
  usage: readonly UsageLine[];
  storage: readonly RegionStorage[];
  inventory: { regions: readonly RegionInventory[]; global: GlobalInventory };
  prices: PriceList;
}): CostLine[] {
  const { topology, prices } = input;
  const lines = new Map<string, CostLine>();
  const put = (region: string, item: PricedItem<PriceKey | GlobalPriceKey>, entry: { usd: number; per: number }) => {
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
  for (const s of input.storage) {
    const held = Object.entries(s.eventsByType);
    const total = held.reduce((sum, [, h]) => sum + h.events, 0);
    const gb = (s.events + s.eventsIndex + s.state + s.idempotency) / GB;
    for (const [aggregateType, { tier, events }] of held) {
      const share = total > 0 ? events / total : 1 / held.length;
      const storageItem = { service: 'dynamodb' as const, tier, aggregateType, quantity: gb * share };
      add(s.region, { ...storageItem, item: 'storage (GB-month)', key: 'dynamodb.storageGbMonth' });
      if (topology.tables.pointInTimeRecovery)
        add(s.region, { ...storageItem, item: 'point-in-time recovery (GB-month)', key: 'dynamodb.pitrGbMonth' });
    }
  }
  for (const inv of input.inventory.regions) {
    const fixed = { tier: 'platform' as const };
    add(inv.region, { ...fixed, service: 'cloudwatch', item: 'alarms', key: 'cloudwatch.alarms', quantity: inv.alarms });
    add(inv.region, { ...fixed, service: 'cloudwatch', item: 'custom metrics', key: 'cloudwatch.customMetrics', quantity: inv.customMetrics });
    if (inv.dashboards > 0)
      add(inv.region, { ...fixed, service: 'cloudwatch', item: 'dashboards', key: 'cloudwatch.dashboards', quantity: inv.dashboards });
  }
  const g = input.inventory.global;
  add('us-east-1', { tier: 'platform', service: 'cloudwatch', item: 'alarms', key: 'cloudwatch.alarms', quantity: g.alarms });
  addGlobal({ tier: 'platform', service: 'route53', item: 'health checks', key: 'route53.healthChecksAws', quantity: g.healthChecks });
  addGlobal({
    tier: 'platform',
    service: 'route53',
    item: `health-check features (${g.healthCheckFeatures.join(', ')})`,
    key: 'route53.healthCheckFeature',
    quantity: g.healthChecks * g.healthCheckFeatures.length,
  });
  addGlobal({ tier: 'platform', service: 'route53', item: 'hosted zone', key: 'route53.hostedZones', quantity: g.hostedZones });
  return [...lines.values()].filter((l) => l.quantity > 0);
}

/** Sums of cost lines by a key. */
export function totalsBy<K extends string>(lines: readonly CostLine[], key: (line: CostLine) => K): Record<K, number> {
  const totals = {} as Record<K, number>;
  for (const line of lines) totals[key(line)] = (totals[key(line)] ?? 0) + line.usd;
  return totals;
}
