import { regionNames, type Tier, type Topology } from '../config/index.ts';
import type { RegionFlow } from './flows.ts';
import type { TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type Runtime } from './runtime.ts';
import { SECONDS_PER_MONTH, type UsageLine, usageLine } from './usage-types.ts';

/** DynamoDB adds this much to every stored item (and index entry) for storage billing. */
const ITEM_OVERHEAD_BYTES = 100;
/** What a Repair task reads from an index per second per region (1 MB pages, a few a second). */
const REPAIR_READ_BYTES_PER_SECOND = 10 * 1024 * 1024;
/** Bytes per event a Repair listing carries back from a peer: the keys-only partition scan and the leaves. */
const REPAIR_SCAN_BYTES_PER_EVENT = 40;
const REPAIR_LEAF_BYTES_PER_EVENT = 120;
/** Idempotency records live 24 hours (lib/api/commands.ts expiresAfterSeconds). */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** Stored bytes per region and table kind, and the events held per tier. */
export interface RegionStorage {
  readonly region: string;
  /** Bytes of the events table, its byPartition index, the state and idempotency tables. */
  readonly events: number;
  readonly eventsIndex: number;
  readonly state: number;
  readonly idempotency: number;
  /** Events held per aggregate type (every region holds every event), with the type's tier. */
  readonly eventsByType: Readonly<Record<string, { readonly tier: Tier; readonly events: number }>>;
}

/**
 * What every region stores after `historyMonths` of the profile: every region holds every event (the
 * events table is never trimmed), one projection row per aggregate, a day of idempotency records.
 */
export function regionStorage(flows: readonly RegionFlow[], profile: TrafficProfile): RegionStorage[] {
  const seconds = SECONDS_PER_MONTH * profile.historyMonths;
  const eventsByType: Record<string, { tier: Tier; events: number }> = {};
  let eventBytes = 0;
  let stateBytes = 0;
  for (const flow of flows) {
    for (const t of flow.types) {
      const events = t.eventsOriginated * seconds;
      const held = (eventsByType[t.type] ??= { tier: t.tier, events: 0 });
      held.events += events;
      eventBytes += events * (t.traffic.eventBytes + ITEM_OVERHEAD_BYTES);
      stateBytes += t.writesExecuted * profile.newAggregateShare * seconds * (t.traffic.stateBytes + ITEM_OVERHEAD_BYTES);
    }
  }
  return flows.map((flow) => ({
    region: flow.region,
    events: eventBytes,
    eventsIndex: eventBytes,
    state: stateBytes,
    idempotency: flow.types.reduce(
      (s, t) => s + t.idempotent * IDEMPOTENCY_TTL_SECONDS * (1024 + ITEM_OVERHEAD_BYTES),
      0,
    ),
    eventsByType,
  }));
}

/**
 * The nightly Repair's usage, averaged per second: in every region a keys-only Scan of the byPartition
 * index (ListPartitions) and a Query of each active partition (BuildTrees), both reading every event
 * (index reads are eventually consistent and billed on the whole item); the listings of the other regions
 * travel to the region running it; the runbook function's invocations and the state machine's transitions.
 */
export function repairUsage(input: {
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
  storage: readonly RegionStorage[];
}): UsageLine[] {
  const { topology, profile, runtime, storage } = input;
  if (runtime.repairRunsPerDay === 0) return [];
  const perSecond = runtime.repairRunsPerDay / 86_400;
  const runsIn = topology.repair.scheduleRegion ?? regionNames(topology)[0]!;
  const caller = `${runsIn}/runbook`;
  const partitions = profile.activePartitions ?? topology.partitions;
  const lines: UsageLine[] = [];
  let slowestRead = 0;
  for (const s of storage) {
    const events = Object.values(s.eventsByType).reduce((a, b) => a + b.events, 0);
    const readUnits = 2 * 0.5 * Math.ceil(s.eventsIndex / 4096);
    const requests = 1 + partitions + Math.ceil((2 * s.eventsIndex) / (1024 * 1024));
    slowestRead = Math.max(slowestRead, (2 * s.eventsIndex) / REPAIR_READ_BYTES_PER_SECOND);
    const base = { region: s.region, caller, source: 'repair', tier: 'platform' as const };
    lines.push(
      usageLine(
        { ...base, service: 'dynamodb', operation: 'dynamodb:Query' },
        {
          table: 'events',
          requests: requests * perSecond,
          items: requests * perSecond,
          readUnits: readUnits * perSecond,
          bytesOut:
            s.region === runsIn ? 0 : events * (REPAIR_SCAN_BYTES_PER_EVENT + REPAIR_LEAF_BYTES_PER_EVENT) * perSecond,
        },
      ),
    );
  }
  const tasks = 2 + 3 * partitions;
  const seconds = (tasks * profile.durationsMs.runbookTask) / 1000 + slowestRead;
  const transitions = CODE_SETTINGS.repairFixedTransitions + CODE_SETTINGS.repairTransitionsPerPartition * partitions;
  const base = { region: runsIn, caller, source: 'repair', tier: 'platform' as const };
  lines.push(
    usageLine(
      { ...base, service: 'lambda', operation: 'lambda:Invoke' },
      { requests: tasks * perSecond, items: tasks * perSecond, billed: ((seconds * runtime.memoryMb.runbook) / 1024) * perSecond },
    ),
    usageLine({ ...base, service: 'states', operation: 'states:StateTransition' }, { billed: transitions * perSecond }),
  );
  return lines;
}
