import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidQueueSettingError } from './errors.ts';
import type { LocalQueue, ReceivedMessage } from './queue.ts';

/** An SQS event source mapping as synthesized (`AWS::Lambda::EventSourceMapping` on a queue). */
export interface SqsMappingSpec {
  readonly functionName: string;
  readonly queueArn: string;
  /** BatchSize (Lambda's default for SQS: 10). */
  readonly batchSize: number;
  /** MaximumBatchingWindowInSeconds, in ms (default 0). */
  readonly maxBatchingWindowMs: number;
  /** FunctionResponseTypes holds ReportBatchItemFailures. */
  readonly reportBatchItemFailures: boolean;
  /**
   * ScalingConfig.MaximumConcurrency (2-1,000): invocations of this mapping at once at most. Unset, the
   * sandbox runs 5 (AWS's starting pollers; AWS then scales up to 1,250).
   */
  readonly maxConcurrency?: number;
}

/** What one poll step did. */
export type PollOutcome = 'empty' | 'gathering' | 'invoked' | 'failed' | 'busy';

export interface LocalSqsMappingOptions {
  readonly spec: SqsMappingSpec;
  readonly queue: LocalQueue;
  /** The function: an SQS event in, its response out (thrown errors fail the whole batch). */
  readonly invoke: (event: SQSEvent) => Promise<unknown>;
  /** Authorizes the mapping's own calls as the function's role (ReceiveMessage, DeleteMessage). */
  readonly authorize?: (operation: 'ReceiveMessage' | 'DeleteMessage', items: number) => Promise<void>;
  readonly now?: () => number;
  /** Batches in flight at once, over the spec's (Lambda's pollers scale out; default 5, AWS's starting pollers). */
  readonly maxConcurrency?: number;
  /** A batch that failed (thrown, refused, or items reported), for the logs. */
  readonly onFailure?: (error: unknown) => void;
}

/** What the mapping has done so far. */
export interface MappingStats {
  invocations: number;
  records: number;
  /** Batches whose invocation threw: every record comes back after the visibility timeout. */
  failedBatches: number;
  /** Records a partial batch response reported failed. */
  failedItems: number;
  /** Records per invocation: how many invocations had n records (n -> count), to see how full batches are. */
  batchSizes: Map<number, number>;
  /**
   * The wait of each first-received record, SentTimestamp to the invocation (ms, summed and largest): what
   * the batching window adds to an ordinary event's lag, against what it saves in invocations.
   */
  firstWaitMsTotal: number;
  firstWaitMsMax: number;
  /** Records received for the first time (the denominator of firstWaitMsTotal). */
  firstReceives: number;
}

/** Batches in flight at once without a MaximumConcurrency (AWS starts with 5 pollers). */
const DEFAULT_CONCURRENCY = 5;

const region = (arn: string) => arn.split(':')[3] ?? '';

function recordOf(message: ReceivedMessage, queueArn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region(queueArn),
  };
}

/**
 * The ids a partial batch response reports failed, as Lambda reads it: no `batchItemFailures` (or an
 * empty list) is success; an entry that is not an id of the batch fails the whole batch (undefined).
 */
function reportedFailures(response: unknown, ids: ReadonlySet<string>): Set<string> | undefined {
  if (typeof response !== 'object' || response === null) return new Set();
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return undefined;
  const out = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return undefined;
    out.add(id);
  }
  return out;
}

/**
 * Lambda's SQS event source mapping over a local queue: it gathers visible messages until `batchSize` of
 * them are there or `maxBatchingWindow` has passed since the first one was seen, invokes the function
 * with them, and deletes the records that succeeded: all of them when the invocation returns (minus the
 * ones a partial batch response names, with ReportBatchItemFailures), none when it throws. What is not
 * deleted comes back once its visibility timeout runs out, and moves to the dead-letter queue after
 * `maxReceiveCount` receives (the queue's redrive policy).
 * @example const m = new LocalSqsMapping({ spec, queue, invoke }); m.start(20); ...; await m.stop();
 */
export class LocalSqsMapping {
  readonly stats: MappingStats = {
    invocations: 0,
    records: 0,
    failedBatches: 0,
    failedItems: 0,
    batchSizes: new Map(),
    firstWaitMsTotal: 0,
    firstWaitMsMax: 0,
    firstReceives: 0,
  };
  private readonly now: () => number;
  private gatheringSince: number | undefined;
  private inFlight = new Set<Promise<PollOutcome>>();
  private timer: NodeJS.Timeout | undefined;

  /** MaximumBatchingWindowInSeconds in ms: a queue holding less than a batch is not invoked before it ends. */
  get batchingWindowMs(): number {
    return this.options.spec.maxBatchingWindowMs;
  }

  constructor(private readonly options: LocalSqsMappingOptions) {
    const { batchSize, maxBatchingWindowMs } = options.spec;
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000))
      throw new InvalidQueueSettingError(`BatchSize must be 1-10000, got ${batchSize}`);
    const max = options.spec.maxConcurrency;
    if (max !== undefined && !(Number.isInteger(max) && max >= 2 && max <= 1_000))
      throw new InvalidQueueSettingError(`MaximumConcurrency must be 2-1000, got ${max}`);
    if (batchSize > 10 && maxBatchingWindowMs <= 0)
      throw new InvalidQueueSettingError('a BatchSize above 10 needs MaximumBatchingWindowInSeconds');
    this.now = options.now ?? Date.now;
  }

  /** Batches being processed right now. */
  busy(): number {
    return this.inFlight.size;
  }

  /**
   * One poll: invokes with a batch when one is due (full, or its window elapsed), else reports why not.
   * Resolves when that invocation and its deletes are done.
   */
  poll(): Promise<PollOutcome> {
    const { queue, spec } = this.options;
    const cap = this.options.maxConcurrency ?? spec.maxConcurrency ?? DEFAULT_CONCURRENCY;
    if (this.inFlight.size >= cap) return Promise.resolve('busy');
    const visible = queue.visibleCount();
    if (visible === 0) {
      this.gatheringSince = undefined;
      return Promise.resolve('empty');
    }
    const now = this.now();
    this.gatheringSince ??= now;
    if (visible < spec.batchSize && now - this.gatheringSince < spec.maxBatchingWindowMs)
      return Promise.resolve('gathering');
    this.gatheringSince = undefined;
    const run = this.runBatch().finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return run;
  }

  private async runBatch(): Promise<PollOutcome> {
    const { queue, spec, authorize } = this.options;
    await authorize?.('ReceiveMessage', spec.batchSize);
    const messages = queue.receive(spec.batchSize);
    if (messages.length === 0) return 'empty';
    this.count(messages);
    let response: unknown;
    try {
      response = await this.options.invoke({ Records: messages.map((m) => recordOf(m, spec.queueArn)) });
    } catch (error) {
      this.stats.failedBatches++;
      this.options.onFailure?.(error);
      return 'failed';
    }
    const ids = new Set(messages.map((m) => m.messageId));
    const failed = spec.reportBatchItemFailures ? reportedFailures(response, ids) : new Set<string>();
    if (failed === undefined) {
      this.stats.failedBatches++;
      this.options.onFailure?.(new Error('invalid batchItemFailures: the whole batch is retried'));
      return 'failed';
    }
    this.stats.failedItems += failed.size;
    const done = messages.filter((m) => !failed.has(m.messageId));
    if (done.length > 0) {
      await authorize?.('DeleteMessage', done.length);
      for (const message of done) queue.delete(message.receiptHandle);
    }
    if (failed.size > 0) this.options.onFailure?.(new Error(`${failed.size} records reported failed`));
    return failed.size > 0 ? 'failed' : 'invoked';
  }

  private count(messages: readonly ReceivedMessage[]): void {
    const { stats } = this;
    stats.invocations++;
    stats.records += messages.length;
    stats.batchSizes.set(messages.length, (stats.batchSizes.get(messages.length) ?? 0) + 1);
    const now = this.now();
    for (const message of messages) {
      if (message.receiveCount !== 1) continue;
      const wait = Math.max(0, now - message.sentAt);
      stats.firstReceives++;
      stats.firstWaitMsTotal += wait;
      stats.firstWaitMsMax = Math.max(stats.firstWaitMsMax, wait);
    }
  }

  /**
   * Polls every `intervalMs` until stopped (Lambda long-polls; a short interval stands in for it), while
   * `enabled` says so (a region that is down polls nothing).
   */
  start(intervalMs: number, enabled: () => boolean = () => true): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!enabled()) return;
      void this.poll().catch((error: unknown) => this.options.onFailure?.(error));
    }, intervalMs);
    this.timer.unref?.();
  }

  /** Stops polling and waits for the batches in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }
}
