import { regionNames, type Topology } from '../config/index.ts';
import type { RegionFlow } from './flows.ts';
import type { TrafficProfile } from './profile.ts';
import type { FunctionName, Runtime } from './runtime.ts';
import { type CostTier, type UsageLine, usageLine } from './usage-types.ts';

/** EventBridge wraps an entry in its event envelope (id, time, region, account, resources): about this much. */
export const EVENTBRIDGE_ENVELOPE_BYTES = 350;
/** EventBridge bills an entry per started 64 KB. */
const EVENT_CHUNK_BYTES = 64 * 1024;
/** A forwarded write on the wire: the request (headers, command) and the answer beyond the state row. */
const FORWARD_REQUEST_BYTES = 700;
const FORWARD_RESPONSE_OVERHEAD_BYTES = 600;
/** X-Ray's default sampling rule: the first request each second, then 5 % (per function and region here). */
const XRAY_RESERVOIR_PER_SECOND = 1;
const XRAY_RATE = 0.05;

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

interface FunctionLoad {
  readonly fn: FunctionName;
  readonly invocations: number;
  readonly seconds: number;
}

/** Invocations and busy seconds per second of each function of a region (repair excluded: see storage). */
export function functionLoads(flow: RegionFlow, profile: TrafficProfile, runtime: Runtime): FunctionLoad[] {
  const d = profile.durationsMs;
  const forwardedOut = sum(flow.types.map((t) => t.forwardedOut));
  return [
    {
      fn: 'api',
      invocations: flow.apiRequests,
      seconds: (flow.apiRequests * d.api + forwardedOut * (d.apiForward - d.api)) / 1000,
    },
    { fn: 'publisher', invocations: flow.publisherBatches, seconds: (flow.publisherBatches * d.publisher) / 1000 },
    { fn: 'applier', invocations: flow.inbound, seconds: (flow.inbound * d.applier) / 1000 },
    {
      fn: 'lag-monitor',
      invocations: runtime.lagMonitor.invocationsPerSecond,
      seconds: runtime.lagMonitor.invocationsPerSecond * runtime.lagMonitor.secondsPerInvocation,
    },
  ];
}

/** The tier a function's cost is attributed to (its work serves every tier: the platform). */
const platform: CostTier = 'platform';

function lambdaLines(flow: RegionFlow, loads: readonly FunctionLoad[], runtime: Runtime, profile: TrafficProfile) {
  const lines: UsageLine[] = [];
  for (const load of loads) {
    if (load.invocations === 0) continue;
    const base = { region: flow.region, caller: `${flow.region}/${load.fn}`, source: `function.${load.fn}`, tier: platform };
    lines.push(
      usageLine(
        { ...base, service: 'lambda', operation: 'lambda:Invoke' },
        { requests: load.invocations, items: load.invocations, billed: (load.seconds * runtime.memoryMb[load.fn]) / 1024 },
      ),
      usageLine(
        { ...base, service: 'xray', operation: 'xray:Trace' },
        {
          billed:
            Math.min(load.invocations, XRAY_RESERVOIR_PER_SECOND) +
            XRAY_RATE * Math.max(0, load.invocations - XRAY_RESERVOIR_PER_SECOND),
        },
      ),
      usageLine(
        { ...base, service: 'cloudwatch', operation: 'logs:Ingest' },
        { billed: (load.invocations * profile.logBytesPerInvocation) / 1e9 },
      ),
    );
  }
  return lines;
}

function eventLines(flow: RegionFlow, peers: readonly string[]): UsageLine[] {
  const bytes = (t: RegionFlow['types'][number]) => t.traffic.eventBytes + EVENTBRIDGE_ENVELOPE_BYTES;
  const chunks = (t: RegionFlow['types'][number]) => Math.ceil(bytes(t) / EVENT_CHUNK_BYTES);
  const publisher = `${flow.region}/publisher`;
  const hb = { events: flow.heartbeats, bytes: 450 + EVENTBRIDGE_ENVELOPE_BYTES };
  const lines: UsageLine[] = [
    usageLine(
      { region: flow.region, caller: publisher, service: 'events', operation: 'events:PutEvents', source: 'publish', tier: platform },
      { requests: flow.putEventsCalls, items: flow.published },
    ),
  ];
  for (const t of flow.types) {
    if (t.eventsOriginated === 0) continue;
    const base = { region: flow.region, caller: publisher, service: 'events' as const, tier: t.tier, aggregateType: t.type };
    lines.push(
      usageLine({ ...base, operation: 'events:CustomEvent', source: 'publish' }, { billed: t.eventsOriginated * chunks(t) }),
      usageLine(
        { ...base, operation: 'events:CrossRegionDelivery', source: 'forward-rules' },
        { billed: t.eventsOriginated * chunks(t) * peers.length, requests: t.eventsOriginated * peers.length },
      ),
      usageLine(
        { ...base, service: 'datatransfer', operation: 'datatransfer:Out', source: 'forward-rules' },
        { bytesOut: t.eventsOriginated * bytes(t) * peers.length },
      ),
    );
  }
  const hbBase = { region: flow.region, caller: publisher, service: 'events' as const, tier: platform, source: 'heartbeat' };
  lines.push(
    usageLine({ ...hbBase, operation: 'events:CustomEvent' }, { billed: hb.events }),
    usageLine({ ...hbBase, operation: 'events:CrossRegionDelivery' }, { billed: hb.events * peers.length, requests: hb.events * peers.length }),
    usageLine({ ...hbBase, service: 'datatransfer', operation: 'datatransfer:Out' }, { bytesOut: hb.events * hb.bytes * peers.length }),
    // Rule target invocations (quota only, not billed): peer buses, and the applier for every inbound entry.
    usageLine(
      { region: flow.region, caller: `${flow.region}/bus`, service: 'events', operation: 'events:Invocation', source: 'rules', tier: platform },
      { requests: flow.published * peers.length + flow.inbound },
    ),
  );
  return lines;
}

function forwardLines(flow: RegionFlow): UsageLine[] {
  const lines: UsageLine[] = [];
  for (const t of flow.types) {
    if (t.forwardedOut === 0 && t.forwardedIn === 0) continue;
    const base = { caller: `${flow.region}/api`, service: 'datatransfer' as const, operation: 'datatransfer:Out', source: 'forward', tier: t.tier, aggregateType: t.type };
    lines.push(
      usageLine({ ...base, region: flow.region }, {
        bytesOut: t.forwardedOut * FORWARD_REQUEST_BYTES + t.forwardedIn * (t.traffic.stateBytes + FORWARD_RESPONSE_OVERHEAD_BYTES),
      }),
    );
  }
  return lines;
}

/**
 * Usage of everything but DynamoDB in one region: functions (requests, GB-seconds, traces, logs), the API,
 * the replication bus (PutEvents, custom events, cross-region deliveries and their bytes, rule invocations)
 * and forwarded writes.
 */
export function computeUsage(input: {
  flow: RegionFlow;
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
}): UsageLine[] {
  const { flow, topology, profile, runtime } = input;
  const peers = regionNames(topology).filter((r) => r !== flow.region);
  const loads = functionLoads(flow, profile, runtime);
  const clientRequests = sum(flow.types.map((t) => t.writesArriving + t.reads));
  return [
    ...lambdaLines(flow, loads, runtime, profile),
    usageLine(
      { region: flow.region, caller: `${flow.region}/clients`, service: 'apigateway', operation: 'apigateway:Request', source: 'api', tier: platform },
      { requests: flow.apiRequests, billed: flow.apiRequests },
    ),
    ...eventLines(flow, peers),
    ...forwardLines(flow),
    usageLine(
      { region: 'global', caller: `${flow.region}/clients`, service: 'route53', operation: 'route53:Query', source: 'dns', tier: platform },
      { billed: clientRequests * profile.dnsQueriesPerRequest },
    ),
  ];
}
