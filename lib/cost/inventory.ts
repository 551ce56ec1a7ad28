import { regionNames, type Topology } from '../config/index.ts';

/** What the inventory reads of a CloudFormation template (the synthesized stacks). */
export interface InventoryTemplate {
  readonly Resources?: Readonly<Record<string, { readonly Type: string; readonly Properties?: unknown }>>;
}

/** The resources of one region (its foundation and cell stacks) that carry a monthly fee or feed usage. */
export interface RegionInventory {
  readonly region: string;
  /** Metrics of the region's alarms: one per standard alarm, one per metric of a metric-math alarm. */
  readonly alarmMetrics: number;
  /** Of those, alarms on a period under a minute (high resolution). */
  readonly highResolutionAlarmMetrics: number;
  readonly dashboards: number;
  /** Custom (EMF) metrics the functions publish: ReplicationLagMs per peer, QuarantinedEvents, ConflictsDetected, Readiness, ReadinessFailedChecks. */
  readonly customMetrics: number;
  readonly kmsKeys: number;
  /** Secrets Manager secrets held here: the internal key (the primary or its replica). */
  readonly secrets: number;
  readonly queues: number;
  readonly logGroups: number;
  /** Retention of the functions' log groups, days (undefined: never expire). */
  readonly logRetentionDays: number | undefined;
  /** From the other regions' stacks: this region has none in the templates read. */
  readonly estimated: boolean;
}

export interface GlobalInventory {
  /** Route 53 health checks and, per check, the optional features billed on top. */
  readonly healthChecks: number;
  readonly healthCheckFeatures: readonly string[];
  readonly alarmMetrics: number;
  readonly highResolutionAlarmMetrics: number;
  readonly dashboards: number;
  readonly kmsKeys: number;
  /** The hosted zone the records live in (the team's; counted once). */
  readonly hostedZones: number;
}

export interface Inventory {
  readonly regions: readonly RegionInventory[];
  readonly global: GlobalInventory;
  /** The stacks it was counted from. */
  readonly stacks: readonly string[];
}

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> };

function resources(templates: readonly InventoryTemplate[]): Resource[] {
  return templates.flatMap((t) => Object.values(t.Resources ?? {}) as Resource[]);
}

const ofType = (list: readonly Resource[], type: string) => list.filter((r) => r.Type === type);

/** Metrics an alarm is billed for: 1, or each metric (not expression) of a metric-math alarm. */
function alarmMetrics(alarm: Resource): { metrics: number; highResolution: boolean } {
  const p = alarm.Properties ?? {};
  const metrics = Array.isArray(p.Metrics)
    ? (p.Metrics as Array<Record<string, unknown>>).filter((m) => m.MetricStat !== undefined)
    : [];
  const periods = metrics.map((m) => Number((m.MetricStat as { Period?: number }).Period ?? 60));
  const period = Number(p.Period ?? Math.min(...periods, 60));
  return { metrics: Math.max(1, metrics.length), highResolution: period < 60 };
}

function countAlarms(list: readonly Resource[]) {
  const alarms = ofType(list, 'AWS::CloudWatch::Alarm').map(alarmMetrics);
  return {
    alarmMetrics: alarms.reduce((n, a) => n + a.metrics, 0),
    highResolutionAlarmMetrics: alarms.filter((a) => a.highResolution).reduce((n, a) => n + a.metrics, 0),
  };
}

function secretsIn(list: readonly Resource[], region: string, all: readonly Resource[]): number {
  const own = ofType(list, 'AWS::SecretsManager::Secret').length;
  const replicas = ofType(all, 'AWS::SecretsManager::Secret').filter((s) =>
    ((s.Properties?.ReplicaRegions as Array<{ Region?: string }> | undefined) ?? []).some(
      (r) => r.Region === region,
    ),
  ).length;
  return own + replicas;
}

function regionCounts(region: string, list: readonly Resource[], all: readonly Resource[], peers: number) {
  const retention = ofType(list, 'AWS::Logs::LogGroup')
    .map((g) => g.Properties?.RetentionInDays)
    .filter((d): d is number => typeof d === 'number');
  return {
    region,
    ...countAlarms(list),
    dashboards: ofType(list, 'AWS::CloudWatch::Dashboard').length,
    customMetrics: peers + 4,
    kmsKeys: ofType(list, 'AWS::KMS::Key').length,
    secrets: secretsIn(list, region, all),
    queues: ofType(list, 'AWS::SQS::Queue').length,
    logGroups: ofType(list, 'AWS::Logs::LogGroup').length,
    logRetentionDays: retention.length > 0 ? Math.max(...retention) : undefined,
    estimated: false,
  };
}

/** The optional, separately billed features of a Route 53 health check. */
function healthCheckFeatures(check: Resource | undefined): string[] {
  const config = (check?.Properties?.HealthCheckConfig ?? {}) as Record<string, unknown>;
  const type = String(config.Type ?? '');
  const features: string[] = [];
  if (type.startsWith('HTTPS')) features.push('HTTPS');
  if (type.endsWith('STR_MATCH')) features.push('string matching');
  if (Number(config.RequestInterval ?? 30) === 10) features.push('fast interval (10 s)');
  if (config.MeasureLatency === true) features.push('latency measurement');
  return features;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/**
 * The fixed resources of a topology, counted in its synthesized templates (`multiactive-<env>-<region>`,
 * `-<region>-foundation`, `-global`). A region without stacks there (a plan adding one) gets the mean of
 * the others, marked `estimated`; health checks follow the topology's regions.
 * @example inventoryOf(topology, templates).regions[0].alarmMetrics
 */
export function inventoryOf(
  topology: Topology,
  templates: Readonly<Record<string, InventoryTemplate>>,
): Inventory {
  const prefix = (name: string) => `multiactive-${topology.name}-${name}`;
  const all = resources(Object.values(templates));
  const names = regionNames(topology);
  const counted = Object.keys(templates)
    .filter((s) => s.startsWith(prefix('')) && !s.endsWith('-foundation') && s !== prefix('global'))
    .map((s) => s.slice(prefix('').length));
  const peers = names.length - 1;
  const known = counted.map((region) =>
    regionCounts(
      region,
      resources([templates[prefix(region)] ?? {}, templates[prefix(`${region}-foundation`)] ?? {}]),
      all,
      peers,
    ),
  );
  const regions = names.map((region): RegionInventory => {
    const found = known.find((k) => k.region === region);
    if (found) return found;
    const avg = (pick: (k: RegionInventory) => number) => Math.round(mean(known.map(pick)));
    return {
      region,
      alarmMetrics: avg((k) => k.alarmMetrics),
      highResolutionAlarmMetrics: avg((k) => k.highResolutionAlarmMetrics),
      dashboards: avg((k) => k.dashboards),
      customMetrics: peers + 4,
      kmsKeys: avg((k) => k.kmsKeys),
      secrets: 1,
      queues: avg((k) => k.queues),
      logGroups: avg((k) => k.logGroups),
      logRetentionDays: known[0]?.logRetentionDays,
      estimated: true,
    };
  });
  const global = resources([templates[prefix('global')] ?? {}]);
  const checks = ofType(global, 'AWS::Route53::HealthCheck');
  return {
    regions,
    global: {
      // One health check per region (cdk/constructs/gtm.ts), whatever the templates read hold.
      healthChecks: names.length,
      healthCheckFeatures: healthCheckFeatures(checks[0]),
      ...countAlarms(global),
      dashboards: ofType(global, 'AWS::CloudWatch::Dashboard').length,
      kmsKeys: ofType(global, 'AWS::KMS::Key').length,
      hostedZones: 1,
    },
    stacks: Object.keys(templates).filter((s) => s.startsWith(prefix(''))),
  };
}
