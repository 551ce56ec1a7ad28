import type { UsageLine } from './usage-types.ts';

/** What the sandbox counts of one (service, caller, operation): `CallUsageRow` of lib/sandbox/iam/usage.ts. */
export interface MeasuredCall {
  readonly service: string;
  /** `us-east-1/api`, `us-east-1/api-gateway/GET /health`, `us-east-1/rule/<bus>/<rule>`, `sandbox`. */
  readonly caller: string;
  readonly operation: string;
  readonly requests: number;
}

/** Requests of one service made by one function (for `lambda`: invocations of that function). */
export interface RequestCount {
  readonly service: string;
  readonly fn: string;
  readonly requests: number;
}

/** The functions whose calls the sandbox counts as AWS would see them. */
const COUNTED_DYNAMODB = new Set([
  'api',
  'applier',
  'publisher',
  'health',
  'lag-monitor',
  'watchdog',
  'saga',
]);
/** Stream reads: polled by the event source mapping on a timer (and free in AWS), not caused by load. */
const STREAM_READS = new Set(['dynamodb:GetRecords', 'dynamodb:DescribeStream', 'dynamodb:GetShardIterator']);

/**
 * The function a sandbox caller label stands for in the comparison, or undefined when the row is not
 * compared: the sandbox's own calls, the readiness function's (the sandbox authorizes each resource of its
 * evaluation, not each AWS request), stream polling, state machines.
 */
export function comparedFunction(
  call: Pick<MeasuredCall, 'service' | 'caller' | 'operation'>,
): string | undefined {
  const label = call.caller.split('/').slice(1).join('/');
  const key = `${call.service} ${call.operation}`;
  if (call.service === 'dynamodb')
    return !STREAM_READS.has(call.operation) && COUNTED_DYNAMODB.has(label) ? label : undefined;
  if (key === 'events events:PutEvents') return eventsCaller(label);
  if (key === 'lambda lambda:Invoke') return invokedFunction(label);
  return undefined;
}

/** PutEvents by the publisher, or by a rule forwarding to a peer's bus. */
function eventsCaller(label: string): string | undefined {
  if (label === 'publisher') return 'publisher';
  return /^rule\/[^/]+\/multiactive-[a-z0-9-]+-to-/.test(label) ? 'forward-rule' : undefined;
}

/**
 * The function an invocation's caller invokes: API Gateway's routes, the apply rule, the watchdog's
 * schedule, the Saga machine's tasks.
 */
function invokedFunction(label: string): string | undefined {
  if (label.startsWith('api-gateway/')) return label.endsWith(' /health') ? 'health' : 'api';
  if (/^rule\/[^/]+\/multiactive-[a-z0-9-]+-apply$/.test(label)) return 'applier';
  // The ordinary lane's and applier-failures' event source mappings (sandbox label `esm/<queue>`).
  if (/^esm\/multiactive-[a-z0-9-]+-(ordinary-lane|applier-failures)$/.test(label)) return 'applier';
  if (/^rule\/multiactive-[a-z0-9-]+-watchdog$/.test(label)) return 'watchdog';
  if (/^state-machine\/multiactive-[a-z0-9-]+-Saga$/.test(label)) return 'saga';
  return undefined;
}

function add(totals: Map<string, RequestCount>, service: string, fn: string, requests: number): void {
  const key = `${service}|${fn}`;
  const row = totals.get(key) ?? { service, fn, requests: 0 };
  totals.set(key, { ...row, requests: row.requests + requests });
}

/** The sandbox's counted requests per service and function. */
export function measuredCounts(calls: readonly MeasuredCall[]): RequestCount[] {
  const totals = new Map<string, RequestCount>();
  for (const call of calls) {
    const fn = comparedFunction(call);
    if (fn !== undefined) add(totals, call.service, fn, call.requests);
  }
  return [...totals.values()];
}

/**
 * The model's requests over `seconds` for what the sandbox counts: DynamoDB calls of the counted
 * functions, PutEvents of the publisher and of the forwarding rules, invocations of the API, health,
 * applier and watchdog functions (the sandbox runs the publisher and the lag monitor without a Lambda
 * invocation, and the readiness function's reads are not compared).
 */
export function modelCounts(usage: readonly UsageLine[], seconds: number): RequestCount[] {
  const totals = new Map<string, RequestCount>();
  for (const line of usage) {
    if (line.requests === 0) continue;
    const fn = comparedFunction({
      service: line.service,
      caller: modelCaller(line),
      operation: line.operation,
    });
    if (fn !== undefined) add(totals, line.service, fn, line.requests * seconds);
  }
  return [...totals.values()];
}

/** A model line's caller in the sandbox's labels. */
function modelCaller(line: UsageLine): string {
  if (line.service === 'lambda') {
    if (line.fn === 'api') return `${line.from}/api-gateway/ANY /v1/{proxy+}`;
    if (line.fn === 'health') return `${line.from}/api-gateway/GET /health`;
    if (line.fn === 'applier') return `${line.from}/rule/bus/multiactive-env-apply`;
    if (line.fn === 'watchdog') return `${line.from}/rule/multiactive-env-watchdog`;
    if (line.fn === 'saga') return `${line.from}/state-machine/multiactive-env-Saga`;
    return `${line.from}/${line.fn}`;
  }
  if (line.fn === 'forward-rule') return `${line.from}/rule/bus/multiactive-env-to-peer`;
  return `${line.from}/${line.fn}`;
}

/** One row of a comparison: the model's and the sandbox's requests, and how far apart (model / measured - 1). */
export interface CountComparison {
  readonly key: string;
  readonly model: number;
  readonly measured: number;
  readonly deviation: number;
}

/** Model and measured counts side by side, per service (`by: 'service'`) or per service and function. */
export function compareCounts(
  model: readonly RequestCount[],
  measured: readonly RequestCount[],
  by: 'service' | 'function',
): CountComparison[] {
  const keyOf = (c: RequestCount) => (by === 'service' ? c.service : `${c.service} ${c.fn}`);
  const sums = (rows: readonly RequestCount[]) => {
    const out = new Map<string, number>();
    for (const r of rows) out.set(keyOf(r), (out.get(keyOf(r)) ?? 0) + r.requests);
    return out;
  };
  const m = sums(model);
  const s = sums(measured);
  return [...new Set([...m.keys(), ...s.keys()])].sort().map((key) => {
    const modelled = m.get(key) ?? 0;
    const counted = s.get(key) ?? 0;
    return {
      key,
      model: modelled,
      measured: counted,
      deviation: counted > 0 ? modelled / counted - 1 : Number.POSITIVE_INFINITY,
    };
  });
}
