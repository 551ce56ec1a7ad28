import type { Topology } from '../config/index.ts';
import { durationsOf, laneInvocations, type RegionFlow, sagaApiInvocations } from './flows.ts';
import type { TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type FunctionName, type Runtime } from './runtime.ts';
import { type CostTier, type UsageLine, usageLine } from './usage-types.ts';

/** EventBridge wraps an entry in its event envelope (id, time, region, account, resources): about this much. */
export const EVENTBRIDGE_ENVELOPE_BYTES = 350;
/** A signed replication entry carries its signature and detail-type beyond the event item. */
const ENTRY_OVERHEAD_BYTES = 250;
/** EventBridge bills an entry per started 64 KB. */
const EVENT_CHUNK_BYTES = 64 * 1024;
/** A forwarded write on the wire: the request (headers, command) and the answer beyond the state row. */
const FORWARD_REQUEST_BYTES = 700;
const FORWARD_RESPONSE_OVERHEAD_BYTES = 600;
/** A watchdog probe of a peer's /health: request and answer. */
const PROBE_BYTES = 1_500;
/**
 * Log bytes of one Saga execution (log level ALL: about twenty history events of a few hundred bytes, with
 * the execution data when `monitoring.logExecutionData`), an estimate.
 */
const SAGA_EXECUTION_LOG_BYTES = 12_000;
/** X-Ray's default sampling rule: the first request each second, then 5 % (per region here). */
const XRAY_RESERVOIR_PER_SECOND = 1;
const XRAY_RATE = 0.05;
/** Functions that read the internal key (peer tokens, event signatures). */
const KEY_READERS: readonly FunctionName[] = ['api', 'publisher', 'applier', 'runbook', 'saga'];

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Invocations and busy seconds per second of one function on behalf of one owner (a type, or the platform). */
export interface FunctionLoad {
  readonly fn: FunctionName;
  readonly tier: CostTier;
  readonly aggregateType?: string;
  readonly invocations: number;
  readonly seconds: number;
}

/**
 * Each function's invocations and busy seconds per second in a region (repair: usage-scheduled.ts). The
 * API's and the applier's are the aggregate types' (client requests, forwarded writes, applied events);
 * the rest, and the applier's heartbeats, the platform's.
 */
export function functionLoads(flow: RegionFlow, profile: TrafficProfile, runtime: Runtime): FunctionLoad[] {
  const d = durationsOf(profile, runtime);
  const forwardExtra = (profile.durationsMs.apiForward - d.api) / 1000;
  const shared = (fn: FunctionName, invocations: number): FunctionLoad => ({
    fn,
    tier: platform,
    invocations,
    seconds: (invocations * d[fn]) / 1000,
  });
  const perType = flow.types.flatMap((t): FunctionLoad[] => {
    const owner = { tier: t.tier, aggregateType: t.type };
    const api = t.writesArriving + t.reads + t.forwardedIn + sagaApiInvocations(t.saga);
    const applied = t.eventsApplied + t.appliedAfterCopy;
    // Ordinary events through the lane: one invocation per batch (the time spent is still per event).
    const applierInvocations =
      t.tier === 'ordinary' && flow.lane ? laneInvocations(applied, flow.lane) : applied;
    return [
      {
        ...owner,
        fn: 'api',
        invocations: api,
        seconds: (api * d.api) / 1000 + (t.forwardedOut + t.saga.forwardedOut) * forwardExtra,
      },
      { ...owner, fn: 'applier', invocations: applierInvocations, seconds: (applied * d.applier) / 1000 },
      { ...owner, fn: 'saga', invocations: t.saga.tasks, seconds: (t.saga.tasks * d.saga) / 1000 },
    ];
  });
  const sweep = runtime.scheduled.saga;
  return [
    ...perType,
    shared('applier', flow.heartbeatsIn),
    shared('health', flow.healthInvocations),
    shared('publisher', flow.publisher.batches),
    shared('lag-monitor', runtime.scheduled['lag-monitor'].perSecond),
    shared('watchdog', runtime.scheduled.watchdog.perSecond),
    shared('readiness', runtime.scheduled.readiness.perSecond),
    {
      fn: 'saga' as const,
      tier: platform,
      invocations: sweep.perSecond,
      seconds: sweep.perSecond * sweep.seconds,
    },
  ].filter((l) => l.invocations > 0);
}

const platform: CostTier = 'platform';

function lambdaLines(flow: RegionFlow, profile: TrafficProfile, runtime: Runtime): UsageLine[] {
  const loads = functionLoads(flow, profile, runtime);
  const lines = loads.flatMap((load) => {
    const base = {
      region: flow.region,
      fn: load.fn,
      source: `function.${load.fn}`,
      tier: load.tier,
      ...(load.aggregateType ? { aggregateType: load.aggregateType } : {}),
    };
    return [
      usageLine(
        { ...base, service: 'lambda', operation: 'lambda:Invoke' },
        {
          requests: load.invocations,
          items: load.invocations,
          billed: (load.seconds * CODE_SETTINGS.memoryMb[load.fn]) / 1024,
        },
      ),
      usageLine(
        { ...base, service: 'cloudwatch', operation: 'logs:Ingest' },
        { billed: (load.invocations * profile.logBytesPerInvocation) / 1e9 },
      ),
    ];
  });
  const invocations = sum(loads.map((l) => l.invocations));
  lines.push(
    usageLine(
      {
        region: flow.region,
        fn: 'all',
        service: 'xray',
        operation: 'xray:Trace',
        source: 'tracing',
        tier: platform,
      },
      {
        billed:
          Math.min(invocations, XRAY_RESERVOIR_PER_SECOND) +
          XRAY_RATE * Math.max(0, invocations - XRAY_RESERVOIR_PER_SECOND),
      },
    ),
  );
  // Each key reader's instances read the internal key again when Powertools' cache expires.
  const keyReads = sum(KEY_READERS.map((fn) => flow.instances[fn])) / (CODE_SETTINGS.secretCacheMs / 1000);
  lines.push(
    usageLine(
      {
        region: flow.region,
        fn: 'all',
        service: 'secretsmanager',
        operation: 'secretsmanager:GetSecretValue',
        source: 'internal-key',
        tier: platform,
      },
      { requests: keyReads, billed: keyReads },
    ),
  );
  return lines;
}

/** Bytes of one published entry of a type (or of a heartbeat). */
const entryBytes = (eventBytes: number) => eventBytes + ENTRY_OVERHEAD_BYTES + EVENTBRIDGE_ENVELOPE_BYTES;

function eventLines(flow: RegionFlow): UsageLine[] {
  const peers = flow.peers.length;
  const publisher = { region: flow.region, fn: 'publisher', service: 'events' as const };
  const lines: UsageLine[] = [
    usageLine(
      { ...publisher, operation: 'events:PutEvents', source: 'publish', tier: platform },
      { requests: flow.publisher.putEventsCalls, items: flow.published },
    ),
  ];
  const flows = [
    ...flow.types.map((t) => ({
      tier: t.tier as CostTier,
      type: t.type,
      rate: t.eventsOriginated,
      bytes: t.traffic.eventBytes,
    })),
    { tier: platform, type: undefined, rate: flow.heartbeats, bytes: 450 },
  ];
  for (const f of flows) {
    if (f.rate === 0) continue;
    const chunks = Math.ceil(entryBytes(f.bytes) / EVENT_CHUNK_BYTES);
    const base = { ...publisher, tier: f.tier, ...(f.type ? { aggregateType: f.type } : {}) };
    lines.push(
      usageLine({ ...base, operation: 'events:CustomEvent', source: 'publish' }, { billed: f.rate * chunks }),
      // A rule per peer sends each entry to the peer's bus (a PutEvents by the rule's role): billed as
      // custom events sent cross-region, and their bytes leave the region.
      usageLine(
        { ...base, fn: 'forward-rule', operation: 'events:PutEvents', source: 'forward-rules' },
        { requests: f.rate * peers, items: f.rate * peers, billed: f.rate * chunks * peers },
      ),
      usageLine(
        {
          ...base,
          fn: 'forward-rule',
          service: 'datatransfer',
          operation: 'datatransfer:Out',
          source: 'forward-rules',
        },
        { bytesOut: f.rate * entryBytes(f.bytes) * peers },
      ),
    );
  }
  // Rule target invocations (a quota, not billed): peer buses, and the applier for every inbound entry.
  lines.push(
    usageLine(
      {
        region: flow.region,
        fn: 'bus',
        service: 'events',
        operation: 'events:Invocation',
        source: 'rules',
        tier: platform,
      },
      { requests: flow.published * peers + flow.inbound },
    ),
  );
  return lines;
}

/** A saga's Standard state transitions and its execution's logs, in the saga's home region. */
function sagaMachineLines(flow: RegionFlow): UsageLine[] {
  return flow.types
    .filter((t) => t.saga.transitions > 0)
    .flatMap((t) => {
      const base = {
        region: flow.region,
        fn: 'saga',
        source: 'saga.machine',
        tier: t.tier,
        aggregateType: t.type,
      };
      return [
        usageLine(
          { ...base, service: 'states', operation: 'states:StateTransition' },
          { billed: t.saga.transitions },
        ),
        usageLine(
          { ...base, service: 'cloudwatch', operation: 'logs:Ingest' },
          { billed: (t.saga.begun * SAGA_EXECUTION_LOG_BYTES) / 1e9 },
        ),
      ];
    });
}

function transferLines(flow: RegionFlow): UsageLine[] {
  const lines: UsageLine[] = [];
  const out = { region: flow.region, service: 'datatransfer' as const, operation: 'datatransfer:Out' };
  const participantRow = (t: { traffic: { stateBytes: number } }) =>
    t.traffic.stateBytes + FORWARD_RESPONSE_OVERHEAD_BYTES;
  for (const t of flow.types) {
    const s = t.saga;
    // Begins forwarded to the saga's home and their answers; steps sent to a participant's home and theirs.
    if (s.forwardedOut + s.forwardedIn + s.stepsIn > 0)
      lines.push(
        usageLine(
          { ...out, fn: 'api', source: 'saga.forward', tier: t.tier, aggregateType: t.type },
          {
            bytesOut:
              s.forwardedOut * FORWARD_REQUEST_BYTES + (s.forwardedIn + s.stepsIn) * participantRow(t),
          },
        ),
      );
    if (s.stepsOut > 0)
      lines.push(
        usageLine(
          { ...out, fn: 'saga', source: 'saga.forward', tier: t.tier, aggregateType: t.type },
          { bytesOut: s.stepsOut * FORWARD_REQUEST_BYTES },
        ),
      );
  }
  for (const t of flow.types) {
    if (t.forwardedOut === 0 && t.forwardedIn === 0) continue;
    lines.push(
      usageLine(
        { ...out, fn: 'api', source: 'forward', tier: t.tier, aggregateType: t.type },
        {
          bytesOut:
            t.forwardedOut * FORWARD_REQUEST_BYTES +
            t.forwardedIn * (t.traffic.stateBytes + FORWARD_RESPONSE_OVERHEAD_BYTES),
        },
      ),
    );
  }
  lines.push(
    usageLine(
      { ...out, fn: 'watchdog', source: 'watchdog-probes', tier: platform },
      { bytesOut: flow.watchdogTicks * flow.peers.length * PROBE_BYTES },
    ),
  );
  return lines;
}

/**
 * Usage of everything but DynamoDB in one region: functions (requests, GB-seconds, logs, traces, key
 * reads), the API (clients, forwarded writes, health checks), the replication bus (PutEvents, custom
 * events, cross-region deliveries and their bytes, rule invocations), forwarded writes, DNS queries.
 */
export function computeUsage(input: {
  flow: RegionFlow;
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
}): UsageLine[] {
  const { flow, profile, runtime } = input;
  const gateway = (tier: CostTier, requests: number, aggregateType?: string) =>
    usageLine(
      {
        region: flow.region,
        fn: 'clients',
        service: 'apigateway',
        operation: 'apigateway:Request',
        source: 'api',
        tier,
        ...(aggregateType ? { aggregateType } : {}),
      },
      { requests, billed: requests },
    );
  const dns = (tier: CostTier, requests: number, aggregateType?: string) =>
    usageLine(
      {
        region: 'global',
        from: flow.region,
        fn: 'clients',
        service: 'route53',
        operation: 'route53:Query',
        source: 'dns',
        tier,
        ...(aggregateType ? { aggregateType } : {}),
      },
      { billed: requests * profile.dnsQueriesPerRequest },
    );
  return [
    ...lambdaLines(flow, profile, runtime),
    ...flow.types.flatMap((t) => [
      gateway(t.tier, t.writesArriving + t.reads + t.forwardedIn + sagaApiInvocations(t.saga), t.type),
      dns(t.tier, t.writesArriving + t.reads + t.saga.arriving, t.type),
    ]),
    ...sagaMachineLines(flow),
    gateway(platform, flow.healthInvocations),
    ...eventLines(flow),
    ...transferLines(flow),
  ];
}
