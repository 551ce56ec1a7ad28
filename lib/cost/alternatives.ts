import { nearestRegions, peersOf, regionNames, type Tier, type Topology } from '../config/index.ts';
import { awsTimers, projectObjectives } from '../ops/objectives.ts';
import type { GlobalPriceKey, PriceKey, PriceList } from './catalog.ts';
import type { RegionFlow } from './flows.ts';
import type { TrafficProfile } from './profile.ts';
import { CODE_SETTINGS } from './runtime.ts';
import { SECONDS_PER_MONTH, type Service } from './usage-types.ts';

/** The architectures a team would weigh against active-active. */
export const OPTIONS = [
  'multiactive',
  'global-tables-eventual',
  'global-tables-strong',
  'single-region-backups',
  'warm-standby',
] as const;
export type OptionId = (typeof OPTIONS)[number];

export const OPTION_NAMES: Readonly<Record<OptionId, string>> = {
  multiactive: 'multiactive (this topology)',
  'global-tables-eventual': 'DynamoDB global tables, multi-Region eventual (MREC)',
  'global-tables-strong': 'DynamoDB global tables, multi-Region strong (MRSC)',
  'single-region-backups': 'single region + cross-region backups',
  'warm-standby': 'single region + warm standby (global table replica, idle cell)',
};

/**
 * Multi-Region strong consistency needs three regions of one set (or two and a witness): the
 * AWS::DynamoDB::GlobalTable GlobalTableWitness documentation lists the sets.
 */
export const MRSC_REGION_SETS: readonly (readonly string[])[] = [
  ['us-east-1', 'us-east-2', 'us-west-2'],
  ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
];

/** Assumptions of the alternatives that are not prices (README: "Alternatives"). */
export const ALTERNATIVE_ASSUMPTIONS = {
  /** Global tables replicate "typically within a second", with no SLA. */
  replicationLagSeconds: 1,
  /** Cross-region backup copies are made daily and seven are kept. */
  backupIntervalHours: 24,
  backupCopiesKept: 7,
  /** Restoring the tables from a copy and redeploying the cell in the backup region. */
  restoreHours: 4,
  /** A warm standby's cell scales up after Route 53 moves the traffic to it. */
  standbyScaleUpSeconds: 60,
} as const;

/** One option's month for one aggregate type (or all), and what it gives on a region loss. */
export interface OptionResult {
  readonly option: OptionId;
  readonly available: boolean;
  /** Why it is not available, or what to know about it. */
  readonly notes: readonly string[];
  readonly byService: Readonly<Partial<Record<Service, number>>>;
  readonly total: number;
  readonly rtoSeconds: number;
  readonly rpoSeconds: number;
  /** How concurrent writes to one item in two regions end. */
  readonly conflicts: string;
}

const KB = 1024;
const wu = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const ru = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));

interface Ledger {
  add(region: string, service: Service, key: PriceKey, quantity: number): void;
  addGlobal(service: Service, key: GlobalPriceKey, quantity: number): void;
  readonly byService: Partial<Record<Service, number>>;
  total(): number;
}

function ledger(prices: PriceList): Ledger {
  const byService: Partial<Record<Service, number>> = {};
  return {
    byService,
    add(region, service, key, quantity) {
      const price = prices.get(region, key);
      byService[service] = (byService[service] ?? 0) + (quantity * price.usd) / price.per;
    },
    addGlobal(service, key, quantity) {
      const price = prices.global(key);
      byService[service] = (byService[service] ?? 0) + (quantity * price.usd) / price.per;
    },
    total: () => Object.values(byService).reduce((a, b) => a + (b ?? 0), 0),
  };
}

interface TypeLoad {
  readonly writes: number;
  readonly reads: number;
  readonly eventsPerWrite: number;
  readonly eventBytes: number;
  readonly stateBytes: number;
}

/** A type's client traffic per region (writes and reads per second) from the model's flows. */
function loads(flows: readonly RegionFlow[], types: readonly string[]): Record<string, TypeLoad[]> {
  return Object.fromEntries(
    flows.map((f) => [
      f.region,
      f.types
        .filter((t) => types.includes(t.type))
        .map((t) => ({
          writes: t.writesArriving,
          reads: t.reads,
          eventsPerWrite: t.traffic.eventsPerWrite,
          eventBytes: t.traffic.eventBytes,
          stateBytes: t.traffic.stateBytes,
        })),
    ]),
  );
}

/** Items written per write (the events and the row) and their bytes. */
const writeSize = (l: TypeLoad) => ({
  units: l.eventsPerWrite * wu(l.eventBytes) + wu(l.stateBytes),
  bytes: l.eventsPerWrite * l.eventBytes + l.stateBytes,
});

function api(book: Ledger, region: string, requests: number, profile: TrafficProfile) {
  const m = SECONDS_PER_MONTH;
  book.add(region, 'apigateway', 'apigateway.httpRequests', requests * m);
  book.add(region, 'lambda', 'lambda.requests', requests * m);
  // The same API function (its memory) serves the alternative's requests.
  const gbSeconds = ((requests * profile.durationsMs.api) / 1000) * (CODE_SETTINGS.memoryMb.api / 1024);
  book.add(region, 'lambda', 'lambda.armGbSeconds', gbSeconds * m);
}

function storage(book: Ledger, region: string, bytes: number, topology: Topology) {
  book.add(region, 'dynamodb', 'dynamodb.storageGbMonth', bytes / 1e9);
  if (topology.tables.pointInTimeRecovery) book.add(region, 'dynamodb', 'dynamodb.pitrGbMonth', bytes / 1e9);
}

function storedBytes(byRegion: Record<string, TypeLoad[]>, profile: TrafficProfile): number {
  const seconds = SECONDS_PER_MONTH * profile.historyMonths;
  let bytes = 0;
  for (const list of Object.values(byRegion))
    for (const l of list)
      bytes +=
        l.writes *
        seconds *
        (l.eventsPerWrite * (l.eventBytes + 100) + profile.newAggregateShare * (l.stateBytes + 100));
  return bytes;
}

/**
 * Prices the same client traffic on an alternative: writes (events and row, transactional where the option
 * allows), replication, reads, storage and PITR, the API, data transfer and the health checks it needs.
 */
function priceOption(input: {
  option: Exclude<OptionId, 'multiactive'>;
  topology: Topology;
  profile: TrafficProfile;
  prices: PriceList;
  byRegion: Record<string, TypeLoad[]>;
}): Ledger {
  const { option, topology, profile, prices, byRegion } = input;
  const book = ledger(prices);
  const m = SECONDS_PER_MONTH;
  const names = regionNames(topology);
  const single = option === 'single-region-backups' || option === 'warm-standby';
  const primary = names[0]!;
  const standby = nearestRegions(topology, primary, peersOf(topology, primary))[0]!;
  const replicasOf = (region: string) =>
    single ? (option === 'warm-standby' ? [standby] : []) : names.filter((r) => r !== region);
  const transactional = option !== 'global-tables-strong';
  for (const [from, list] of Object.entries(byRegion)) {
    const region = single ? primary : from;
    for (const l of list) {
      const size = writeSize(l);
      book.add(
        region,
        'dynamodb',
        'dynamodb.writeRequestUnits',
        l.writes * size.units * (transactional ? 2 : 1) * m,
      );
      book.add(region, 'dynamodb', 'dynamodb.readRequestUnits', l.reads * ru(l.stateBytes) * m);
      for (const replica of replicasOf(region)) {
        book.add(replica, 'dynamodb', 'dynamodb.replicatedWriteRequestUnits', l.writes * size.units * m);
        book.add(region, 'datatransfer', 'datatransfer.interRegionGb', (l.writes * size.bytes * m) / 1e9);
      }
      api(book, region, l.writes + l.reads, profile);
    }
  }
  const bytes = storedBytes(byRegion, profile);
  const holders = single ? [primary, ...(option === 'warm-standby' ? [standby] : [])] : names;
  for (const region of holders) storage(book, region, bytes, topology);
  // Route 53 in front: a health-checked record per serving region (the same checks as multiactive's).
  const checked = option === 'single-region-backups' ? 0 : option === 'warm-standby' ? 2 : names.length;
  book.addGlobal('route53', 'route53.healthChecksAws', checked);
  book.addGlobal('route53', 'route53.healthCheckFeature', checked * 3);
  if (option === 'single-region-backups') {
    const a = ALTERNATIVE_ASSUMPTIONS;
    book.add(standby, 'dynamodb', 'dynamodb.backupGbMonth', (bytes / 1e9) * a.backupCopiesKept);
    book.add(
      primary,
      'datatransfer',
      'datatransfer.interRegionGb',
      (bytes / 1e9) * (730 / a.backupIntervalHours),
    );
  }
  return book;
}

function recovery(option: OptionId, topology: Topology, tier: Tier) {
  const a = ALTERNATIVE_ASSUMPTIONS;
  const t = awsTimers(topology);
  const dnsMove = t.healthIntervalSeconds * t.failureThreshold + t.dnsTtlSeconds;
  if (option === 'multiactive') {
    const p = projectObjectives(topology, t, { maxLagMs: undefined }).find((x) => x.tier === tier)!;
    return { rto: p.rtoSeconds, rpo: p.rpoSeconds };
  }
  if (option === 'global-tables-eventual') return { rto: dnsMove, rpo: a.replicationLagSeconds };
  if (option === 'global-tables-strong') return { rto: dnsMove, rpo: 0 };
  if (option === 'warm-standby')
    return { rto: dnsMove + a.standbyScaleUpSeconds, rpo: a.replicationLagSeconds };
  return { rto: a.restoreHours * 3600, rpo: a.backupIntervalHours * 3600 };
}

const CONFLICTS: Readonly<Record<OptionId, string>> = {
  multiactive:
    'core: one writer per partition (fenced); important: detected causally, resolved by policy, recorded',
  'global-tables-eventual': 'last writer wins per item; the overwritten write is not recorded anywhere',
  'global-tables-strong': 'none: a conflicting write fails (ReplicatedWriteConflictException)',
  'single-region-backups': 'none: one region writes',
  'warm-standby': 'none while one region writes',
};

function availability(option: OptionId, topology: Topology): string[] {
  const names = regionNames(topology);
  if (option !== 'global-tables-strong') return [];
  const notes: string[] = [];
  const set = MRSC_REGION_SETS.find((s) => names.every((r) => s.includes(r)));
  if (!set)
    notes.push(
      `not available: ${names.join(', ')} are not in one MRSC region set (${MRSC_REGION_SETS.map((s) => s.join('/')).join('; ')})`,
    );
  if (names.length !== 3) notes.push('not available: MRSC needs three replicas (or two and a witness)');
  return notes;
}

const OPTION_NOTES: Readonly<Partial<Record<OptionId, string>>> = {
  'global-tables-strong':
    'writes and strongly consistent reads wait for a cross-region round trip; transactions are not supported, so events and row are two writes',
  'single-region-backups': 'clients far from the region pay the round trip on every request',
  'warm-standby': 'clients far from the active region pay the round trip on every request',
  'global-tables-eventual':
    'no home regions, no fencing, no conflict records, no read-your-writes across regions',
};

/**
 * The client traffic of `types` priced on each alternative, with the RPO/RTO each gives the tier.
 * Multiactive's own figure is not computed here (see monthlyCost); its recovery figures are.
 */
export function alternativesFor(input: {
  topology: Topology;
  profile: TrafficProfile;
  prices: PriceList;
  flows: readonly RegionFlow[];
  types: readonly string[];
  tier: Tier;
}): OptionResult[] {
  const byRegion = loads(input.flows, input.types);
  return OPTIONS.filter((o) => o !== 'multiactive').map((option) => {
    const book = priceOption({ option, byRegion, ...input });
    const { rto, rpo } = recovery(option, input.topology, input.tier);
    const notAvailable = availability(option, input.topology);
    return {
      option,
      available: notAvailable.length === 0,
      notes: [...notAvailable, ...(OPTION_NOTES[option] ? [OPTION_NOTES[option]] : [])],
      byService: book.byService,
      total: book.total(),
      rtoSeconds: rto,
      rpoSeconds: rpo,
      conflicts: CONFLICTS[option],
    };
  });
}

/** Multiactive's recovery figures and conflict handling for a tier (its cost comes from monthlyCost). */
export function multiactiveRecovery(topology: Topology, tier: Tier) {
  const { rto, rpo } = recovery('multiactive', topology, tier);
  return { rtoSeconds: rto, rpoSeconds: rpo, conflicts: CONFLICTS.multiactive };
}
