import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { decodeHlc } from '../../clock/index.ts';
import { REPLICATION_SOURCE } from '../../replication/index.ts';
import { percentile } from './lag-recorder.ts';

/**
 * The points of the replication pipeline the sandbox timestamps, in pipeline order. The first two belong
 * to the event at its origin, the others to one delivery (`origin -> peer`).
 */
export const PIPELINE_MARKS = [
  /** The publisher was invoked with the event's stream record. */
  'publisher',
  /** The publisher's PutEvents to the origin's bus returned. */
  'originBus',
  /** The forwarding rule's delivery to the peer started (past the target's concurrency limit). */
  'forward',
  /** The delivery was authorized and entered the WAN link. */
  'wanOut',
  /** It reached the peer's bus (after the link's delay). */
  'peerBus',
  /** The apply rule's delivery started (past the applier's concurrency limit). */
  'applierDelivery',
  /** The applier was invoked (after the invoke was authorized). */
  'applierStart',
  /** The applier returned `applied`. */
  'applied',
] as const;

export type PipelineMark = (typeof PIPELINE_MARKS)[number];

/** One applied event's timestamps (epoch ms); `hlcWall` is its HLC at the origin, where the lag starts. */
export interface StageSample {
  readonly from: string;
  readonly to: string;
  readonly hlcWall: number;
  readonly marks: Readonly<Partial<Record<PipelineMark, number>>>;
}

/** Marks a retry moves: the attempt that got through is the one timed, not the first. */
const LAST_WINS: ReadonlySet<PipelineMark> = new Set(['wanOut', 'applierDelivery', 'applierStart']);

type Marks = Partial<Record<PipelineMark, number>>;

/** The event id of a replication event's detail, or undefined for anything else (heartbeats included). */
function eventIdOf(detail: unknown): string | undefined {
  const id = (detail as { eventId?: unknown } | null)?.eventId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Per-event timestamps of the replication pipeline in the sandbox, so a benchmark can say where the lag
 * goes. Off by default: the sandbox creates one only when asked (`Sandbox.start({ traceStages: true })`)
 * and every hook is `trace?.…`, so an untraced sandbox behaves and costs exactly as before.
 * Bounded: past `limit` events in flight the oldest are forgotten.
 */
export class PipelineTrace {
  private readonly open = new Map<string, Marks>();
  private readonly done: StageSample[] = [];
  private readonly durations = new Map<string, number[]>();

  constructor(
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
    private readonly limit = 200_000,
  ) {}

  /** Marks events at their origin (`publisher`, `originBus`). */
  atOrigin(mark: 'publisher' | 'originBus', eventIds: Iterable<string>): void {
    const at = this.now();
    for (const id of eventIds) this.set(id, mark, at);
  }

  /** Marks one delivery of a bus event to `to`; events that are not replication events are ignored. */
  atDelivery(
    mark: Exclude<PipelineMark, 'publisher' | 'originBus' | 'applied'>,
    event: { source: string; detail: unknown },
    to: string,
  ): void {
    if (event.source !== REPLICATION_SOURCE) return;
    const id = eventIdOf(event.detail);
    if (id !== undefined) this.set(`${id}>${to}`, mark, this.now());
  }

  /** The applier in `to` applied the event: its marks become a sample. */
  applied(detail: unknown, to: string): void {
    const id = eventIdOf(detail);
    const { origin, hlc } = (detail ?? {}) as { origin?: unknown; hlc?: unknown };
    if (id === undefined || typeof origin !== 'string' || typeof hlc !== 'string') return;
    const key = `${id}>${to}`;
    const marks = { ...this.open.get(id), ...this.open.get(key), applied: this.now() };
    this.open.delete(key);
    this.done.push({ from: origin, to, hlcWall: decodeHlc(hlc).wall, marks });
  }

  /** Records how long one named step took (the quorum ack and its peer calls). */
  duration(step: string, ms: number): void {
    const list = this.durations.get(step) ?? [];
    list.push(ms);
    this.durations.set(step, list);
  }

  /** Every applied event's sample since the last reset. */
  samples(): readonly StageSample[] {
    return this.done;
  }

  /** Every named step's durations since the last reset. */
  steps(): ReadonlyMap<string, readonly number[]> {
    return this.durations;
  }

  /** Forgets everything (between the warm-up and the measured window). */
  reset(): void {
    this.open.clear();
    this.done.length = 0;
    this.durations.clear();
  }

  private set(key: string, mark: PipelineMark, at: number): void {
    let marks = this.open.get(key);
    if (!marks) {
      if (this.open.size >= this.limit) this.open.delete(this.open.keys().next().value as string);
      marks = {};
      this.open.set(key, marks);
    }
    if (marks[mark] === undefined || LAST_WINS.has(mark)) marks[mark] = at;
  }
}

/** The stages a sample's lag splits into (ms), less the link's injected (set) one-way latency. */
export interface StageDurations {
  /** HLC at the origin -> publisher invoked: the append, the stream's poll interval, the poller. */
  readonly streamToPublisher: number;
  /** Publisher invoked -> its PutEvents returned. */
  readonly publisherToBus: number;
  /** Origin bus -> applier invoked, minus the link's injected latency. */
  readonly busToApplier: number;
  /** Applier invoked -> applied. */
  readonly apply: number;
  /** Lag minus the link's injected latency: the sum of the four stages above. */
  readonly overhead: number;
  /** The overhead past the stream (publisher -> bus -> applier -> applied, minus the link's latency). */
  readonly afterStream: number;
  /**
   * Parts of busToApplier (they add up to it): origin rule dispatch and queue, authorization and retries,
   * the time on the WAN beyond the injected latency (timer lateness), peer dispatch and queue, invoke.
   */
  readonly originDispatch: number;
  readonly forwardAuthorize: number;
  readonly linkExcess: number;
  readonly peerDispatch: number;
  readonly invoke: number;
}

/** The stage durations of a sample, or undefined when a mark is missing (a delivery the trace missed). */
export function stageDurations(sample: StageSample, injectedMs: number): StageDurations | undefined {
  const m = sample.marks;
  const at = PIPELINE_MARKS.map((mark) => m[mark]);
  if (at.some((t) => t === undefined)) return undefined;
  const [publisher, originBus, forward, wanOut, peerBus, applierDelivery, applierStart, applied] =
    at as number[] as [number, number, number, number, number, number, number, number];
  const busToApplier = applierStart - originBus - injectedMs;
  return {
    streamToPublisher: publisher - sample.hlcWall,
    publisherToBus: originBus - publisher,
    busToApplier,
    apply: applied - applierStart,
    overhead: applied - sample.hlcWall - injectedMs,
    afterStream: applied - publisher - injectedMs,
    originDispatch: forward - originBus,
    forwardAuthorize: wanOut - forward,
    linkExcess: peerBus - wanOut - injectedMs,
    peerDispatch: applierDelivery - peerBus,
    invoke: applierStart - applierDelivery,
  };
}

/** p50 and p99 of one stage. */
export interface StagePercentiles {
  readonly p50: number;
  readonly p99: number;
}

/**
 * p50/p99 of every stage over the samples whose marks are complete (`injectedMs(from, to)`: the link's set
 * one-way latency), and how many samples were complete.
 */
export function stageBreakdown(
  samples: readonly StageSample[],
  injectedMs: (from: string, to: string) => number,
): { complete: number; stages: Record<keyof StageDurations, StagePercentiles> | undefined } {
  const durations = samples.flatMap((s) => stageDurations(s, injectedMs(s.from, s.to)) ?? []);
  if (durations.length === 0) return { complete: 0, stages: undefined };
  const keys = Object.keys(durations[0]!) as Array<keyof StageDurations>;
  const stages = Object.fromEntries(
    keys.map((key) => {
      const sorted = durations.map((d) => d[key]).sort((a, b) => a - b);
      return [key, { p50: percentile(sorted, 50)!, p99: percentile(sorted, 99)! }];
    }),
  ) as Record<keyof StageDurations, StagePercentiles>;
  return { complete: durations.length, stages };
}

/** The event ids the origin marks are keyed by, read from what the publisher sees. */
export const tracedEventIds = {
  /** From a stream batch: the `eventId` of each record's new image. */
  *ofRecords(
    records: ReadonlyArray<{ dynamodb?: { NewImage?: Record<string, unknown> } }>,
  ): Iterable<string> {
    for (const record of records) {
      const id = (record.dynamodb?.NewImage?.eventId as { S?: unknown } | undefined)?.S;
      if (typeof id === 'string') yield id;
    }
  },
  /** From PutEvents entries: the `eventId` of each replication entry's detail. */
  *ofEntries(entries: ReadonlyArray<{ Source?: string; Detail?: string }>): Iterable<string> {
    for (const entry of entries) {
      if (entry.Source !== REPLICATION_SOURCE || entry.Detail === undefined) continue;
      const id = eventIdOf(JSON.parse(entry.Detail) as unknown);
      if (id !== undefined) yield id;
    }
  },
};

/** `fn` with its duration recorded as `step` (successful or not) when there is a trace; `fn` itself when not. */
export function timedStep<A extends unknown[], R>(
  trace: PipelineTrace | undefined,
  step: string,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (!trace) return fn;
  return async (...args) => {
    const started = performance.now();
    try {
      return await fn(...args);
    } finally {
      trace.duration(step, performance.now() - started);
    }
  };
}

/**
 * `target` with the duration of every promise-returning method call recorded as `<prefix>.<method>` when
 * there is a trace (the quorum bench splits a core write into its store calls); `target` itself when not.
 */
export function timedCalls<T extends object>(trace: PipelineTrace | undefined, prefix: string, target: T): T {
  if (!trace) return target;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const out: unknown = Reflect.apply(value, object, args);
        if (!(out instanceof Promise)) return out;
        return out.finally(() => trace.duration(`${prefix}.${property}`, performance.now() - started));
      };
    },
  });
}

/**
 * Records the duration of every GetRecords of a DynamoDB Streams client as `streams.GetRecords (records)`
 * or `streams.GetRecords (empty)` when there is a trace (where the stream -> publisher stage goes).
 */
export function traceStreamReads(trace: PipelineTrace | undefined, client: DynamoDBStreamsClient): void {
  if (!trace) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const result = await next(args);
      if (context.commandName === 'GetRecordsCommand') {
        const records = (result.output as { Records?: unknown[] } | undefined)?.Records?.length ?? 0;
        trace.duration(
          `streams.GetRecords (${records > 0 ? 'records' : 'empty'})`,
          performance.now() - started,
        );
      }
      return result;
    },
    { step: 'initialize', name: 'multiactiveTraceStreamReads' },
  );
}
