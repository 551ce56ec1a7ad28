import { regionNames, type Topology } from '../config/index.ts';
import type { Inventory } from './inventory.ts';
import type { TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type Runtime } from './runtime.ts';
import type { RegionStorage } from './storage.ts';
import { type UsageLine, usageLine } from './usage-types.ts';

/** What a Repair task reads from an index per second per region (1 MB pages, a few a second). */
const REPAIR_READ_BYTES_PER_SECOND = 10 * 1024 * 1024;
/** Bytes per event a Repair listing carries back from a peer: the partition scan and the leaves. */
const REPAIR_BYTES_PER_EVENT = 160;
/** Repair's Map: ListPartitions, the Map, Report, Succeed; per partition BuildTrees, Diff, Replay, its Pass (cdk/constructs/runbooks/repair.ts). */
const REPAIR_FIXED_TRANSITIONS = 4;
const REPAIR_TRANSITIONS_PER_PARTITION = 4;
/** BatchGetItem takes at most 100 keys (the partition map's entries, lib/ops/partition-view.ts). */
const BATCH_GET_KEYS = 100;
/** Dead-letter queues of a region when no inventory says (a cell has four or five). */
const DEFAULT_QUEUES = 5;

/**
 * The readiness function's reads, each minute in every region (lib/ops/aws-readiness.ts
 * awsReadinessSnapshot): every region's stack, health check, lag links, queues, alarms, executions and
 * the whole partition map from every control table.
 */
export function readinessUsage(topology: Topology, runtime: Runtime, inventory?: Inventory): UsageLine[] {
  const regions = regionNames(topology);
  const r = regions.length;
  const queues = regions.reduce(
    (n, region) => n + (inventory?.regions.find((i) => i.region === region)?.queues ?? DEFAULT_QUEUES),
    0,
  );
  const batches = Math.ceil(topology.partitions / BATCH_GET_KEYS);
  const alarmRegions = new Set(['us-east-1', ...regions]).size;
  return regions.flatMap((region) => {
    const rate = runtime.scheduled.readiness.perSecond;
    const base = { region, fn: 'readiness', source: 'readiness', tier: 'platform' as const };
    const line = (service: UsageLine['service'], operation: string, requests: number, billed = requests) =>
      usageLine(
        { ...base, service, operation },
        { requests: requests * rate, items: requests * rate, billed: billed * rate },
      );
    return [
      line('cloudwatch', 'cloudwatch:GetMetricData', r * (r - 1)),
      line('cloudwatch', 'cloudwatch:DescribeAlarms', alarmRegions),
      line('sqs', 'sqs:GetQueueAttributes', queues + r),
      line('route53', 'route53:GetHealthCheckStatus', r + 1, 0),
      line('states', 'states:ListExecutions', r + 1, 0),
      // The partition map from every region's control table, strongly consistent.
      ...regions.map((table) =>
        usageLine(
          { ...base, region: table, from: region, service: 'dynamodb', operation: 'dynamodb:BatchGetItem' },
          {
            table: 'control',
            requests: batches * rate,
            items: topology.partitions * rate,
            readUnits: topology.partitions * rate,
          },
        ),
      ),
    ];
  });
}

/**
 * The nightly Repair's usage, averaged per second: in every region a Scan of the byPartition index
 * (ListPartitions) and a Query of each active partition (BuildTrees), both reading every event (index
 * reads are eventually consistent and billed on the whole item), and the rows of every aggregate; the
 * listings of the other regions travel to the region running it; the runbook function's invocations and
 * the state machine's transitions.
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
  const partitions = profile.activePartitions ?? topology.partitions;
  const base = { from: runsIn, fn: 'runbook', source: 'repair', tier: 'platform' as const };
  const lines: UsageLine[] = [];
  let slowestRead = 0;
  for (const s of storage) {
    const events = Object.values(s.eventsByType).reduce((a, b) => a + b.events, 0);
    const indexReadUnits = 2 * 0.5 * Math.ceil(s.eventsIndex / 4096);
    const pages = 1 + partitions + Math.ceil((2 * s.eventsIndex) / (1024 * 1024));
    const rowBatches = Math.ceil(s.aggregates / BATCH_GET_KEYS);
    slowestRead = Math.max(slowestRead, (2 * s.eventsIndex) / REPAIR_READ_BYTES_PER_SECOND);
    // What Repair reads is each type's history: its share of the events held.
    for (const [aggregateType, held] of Object.entries(s.eventsByType)) {
      const share = events > 0 ? held.events / events : 0;
      const owner = { ...base, region: s.region, tier: held.tier, aggregateType };
      const per = (n: number) => n * share * perSecond;
      lines.push(
        usageLine(
          { ...owner, service: 'dynamodb', operation: 'dynamodb:Query' },
          { table: 'events', requests: per(pages), items: per(pages), readUnits: per(indexReadUnits) },
        ),
        usageLine(
          { ...owner, service: 'dynamodb', operation: 'dynamodb:BatchGetItem' },
          {
            table: 'state',
            requests: per(rowBatches),
            items: per(s.aggregates),
            readUnits: per(s.aggregates),
          },
        ),
      );
      if (s.region !== runsIn)
        lines.push(
          usageLine(
            { ...owner, from: s.region, service: 'datatransfer', operation: 'datatransfer:Out' },
            { bytesOut: per(events * REPAIR_BYTES_PER_EVENT) },
          ),
        );
    }
  }
  const tasks = 2 + 3 * partitions;
  const seconds = (tasks * profile.durationsMs.runbookTask) / 1000 + slowestRead;
  const transitions = REPAIR_FIXED_TRANSITIONS + REPAIR_TRANSITIONS_PER_PARTITION * partitions;
  const home = { ...base, region: runsIn };
  lines.push(
    usageLine(
      { ...home, service: 'lambda', operation: 'lambda:Invoke' },
      {
        requests: tasks * perSecond,
        items: tasks * perSecond,
        billed: ((seconds * CODE_SETTINGS.memoryMb.runbook) / 1024) * perSecond,
      },
    ),
    usageLine(
      { ...home, service: 'states', operation: 'states:StateTransition' },
      { billed: transitions * perSecond },
    ),
  );
  return lines;
}
