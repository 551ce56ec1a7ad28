import type { Topology } from '../config/index.ts';

/** How much a changed setting matters to a change review. */
export type Impact = 'none' | 'approval' | 'refused';

/** One setting that differs between the two topologies. */
export interface SettingChange {
  /** Dotted path in the topology (`core.ack`, `gtm.healthCheck.intervalSeconds`). */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly impact: Impact;
  readonly note: string;
}

type Flat = Map<string, unknown>;

/** Every leaf of a topology by dotted path; arrays of plain values and records of numbers stay whole. */
function flatten(value: unknown, prefix: string, out: Flat): Flat {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    const leafRecord = prefix === 'latencyMs';
    if (leafRecord) out.set(prefix, value);
    else for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  out.set(prefix, value);
  return out;
}

/** What a setting outside the aggregates means for the review (aggregates and regions are looked at apart). */
const RULES: ReadonlyArray<{ match: RegExp; impact: Impact; note: string }> = [
  {
    match: /^partitions$/,
    impact: 'refused',
    note: 'every key hashes to another partition: every user is re-homed and every log moves',
  },
  {
    match: /^core\.ack$/,
    impact: 'approval',
    note: 'core RPO and write latency change (quorum: a majority holds a write before its 200)',
  },
  {
    match: /^objectives\./,
    impact: 'approval',
    note: 'the declared objectives readiness and drills check against',
  },
  {
    match: /^(gtm\.(healthCheck|ttlSeconds|watchdog|autoFailover)|fencing\.)/,
    impact: 'approval',
    note: 'detection and failover timers: the projected RTO',
  },
  {
    match: /^thresholds\.degradeLagMs$/,
    impact: 'approval',
    note: 'the lag at which writes degrade to the home region: the projected RPO of important and ordinary',
  },
  { match: /^api\.auth/, impact: 'approval', note: 'every client must authenticate the new way' },
  {
    match: /^tables\.pointInTimeRecovery$/,
    impact: 'approval',
    note: 'point-in-time recovery of every table',
  },
  {
    match: /^tables\.backup/,
    impact: 'approval',
    note: 'the AWS Backup plan of the tables: what a restore to a point in time can start from',
  },
  {
    match: /^tables\.deletionProtection$/,
    impact: 'approval',
    note: 'whether a stack update may delete the tables',
  },
  {
    match: /^gtm\.(policy|domainName|hostedZone)/,
    impact: 'approval',
    note: 'how clients reach the regions (DNS)',
  },
  { match: /^account$/, impact: 'refused', note: 'another AWS account: a new deployment, not a change' },
  { match: /^name$/, impact: 'refused', note: 'another environment name: every resource name changes' },
];

function classify(path: string): { impact: Impact; note: string } {
  const rule = RULES.find((r) => r.match.test(path));
  return rule ?? { impact: 'none', note: 'no effect on tiers, consistency, recovery or data placement' };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Every setting that differs between two topologies, classified; the aggregates and regions are left to
 * their own comparison (`aggregateChanges`, `regionChanges`).
 */
export function settingChanges(before: Topology, after: Topology): SettingChange[] {
  const strip = ({ aggregates: _a, regions: _r, ...rest }: Topology) => rest;
  const a = flatten(strip(before), '', new Map());
  const b = flatten(strip(after), '', new Map());
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((path) => !same(a.get(path), b.get(path)))
    .sort()
    .map((path) => ({ path, before: a.get(path), after: b.get(path), ...classify(path) }));
}
