import type { _Record, DynamoDBStreamsClient, Shard } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type BatchPolicy, type BatchRuntime, processBatch, type StreamHandlerResult } from './batch.ts';
import { StreamPollerError } from './errors.ts';
import { toLambdaRecord } from './records.ts';
import { readShard, type ShardReaderContext, type ShardState } from './shard-reader.ts';
import { isReadable, listShards, resolveStreamArn } from './shards.ts';
import { Sleeper } from './sleeper.ts';

/** Options of a StreamPoller: an event source mapping for one table's stream. */
export interface StreamPollerOptions {
  streams: DynamoDBStreamsClient;
  /** Stream ARN, table ARN or table name (the last two through ListStreams). */
  tableArnOrStreamArn: string;
  handler: (event: DynamoDBStreamEvent) => Promise<StreamHandlerResult>;
  onFailure?: (records: DynamoDBRecord[], error: unknown) => Promise<void>;
  /** Region written into `awsRegion` (DynamoDB Local reports `ddblocal`). */
  region: string;
  /** Records per batch (100; GetRecords' maximum is 1000). */
  batchSize?: number;
  /** -1 = retry forever (Lambda's default). */
  maxRetries?: number;
  bisectOnError?: boolean;
  /** Wait after an empty poll (250 ms: Lambda polls each shard about four times a second). */
  pollIntervalMs?: number;
  retryDelayMs?: number;
  /** Where to start in shards open at start-up (TRIM_HORIZON). Child shards always start at their beginning. */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** How often to look for new shards (1000 ms); also done whenever a shard closes. */
  shardRefreshMs?: number;
  /** Poll errors and discarded records are reported here; the poller itself keeps going. */
  onError?: (error: unknown) => void;
}

/** Counters of a StreamPoller. */
export interface StreamPollerStats {
  shards: number;
  batches: number;
  records: number;
  failedToDestination: number;
}

// A record becomes readable a few ms after PutItem returns: idle() only trusts polls started this much later.
const SETTLE_MS = 25;

/**
 * Polls a DynamoDB stream through the real Streams API and invokes a handler like Lambda's event source
 * mapping: shards read in parent-before-child order, batches of up to `batchSize`, ReportBatchItemFailures
 * checkpointing, retries, bisection and an on-failure destination.
 * @example
 * const poller = new StreamPoller({ streams, tableArnOrStreamArn: 'events', region: 'eu-west-1', handler });
 * await poller.start();
 */
export class StreamPoller {
  private readonly options: StreamPollerOptions;
  private readonly shards = new Map<string, ShardState>();
  private readonly sleeper = new Sleeper();
  private readonly counters: StreamPollerStats = {
    shards: 0,
    batches: 0,
    records: 0,
    failedToDestination: 0,
  };
  private arn: string | undefined;
  private running = false;
  private discovery: Promise<void> | undefined;
  private discoveryLoop: Promise<void> | undefined;
  private lastDiscoveryAt = Number.NEGATIVE_INFINITY;

  constructor(options: StreamPollerOptions) {
    this.options = options;
  }

  /** The stream ARN being read (after start). */
  get streamArn(): string | undefined {
    return this.arn;
  }

  /** Resolves the stream, discovers its shards and starts polling them. */
  async start(): Promise<void> {
    if (this.running) return;
    this.arn ??= await resolveStreamArn(this.options.streams, this.options.tableArnOrStreamArn);
    this.running = true;
    this.sleeper.open();
    await this.discover();
    this.discoveryLoop = (async () => {
      while (await this.sleep(this.options.shardRefreshMs ?? 1000)) await this.discover();
    })();
  }

  /** Stops polling and waits for batches in flight; unfinished retries resume from the checkpoint on restart. */
  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.cancelAll();
    await this.discoveryLoop;
    await this.discovery;
    await Promise.all([...this.shards.values()].map((s) => s.worker));
    for (const s of this.shards.values()) s.worker = undefined;
  }

  /** Resolves once every shard has been read to its end with nothing in flight; rejects after `timeoutMs`. */
  async idle(timeoutMs = 10_000): Promise<void> {
    const since = performance.now();
    const deadline = since + timeoutMs;
    void this.discover();
    while (!this.isIdleSince(since)) {
      if (!this.running) throw new StreamPollerError('idle() called on a stopped poller');
      if (performance.now() > deadline)
        throw new StreamPollerError(`Stream not caught up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Counters since the poller was created. */
  stats(): StreamPollerStats {
    return { ...this.counters, shards: this.shards.size };
  }

  private isIdleSince(since: number): boolean {
    if (this.discovery || this.lastDiscoveryAt < since) return false;
    return [...this.shards.values()].every(
      (s) => s.finished || (!s.processing && s.lastEmptyPollAt >= since + SETTLE_MS),
    );
  }

  private discover(): Promise<void> {
    this.discovery ??= this.refreshShards().finally(() => {
      this.discovery = undefined;
    });
    return this.discovery;
  }

  private async refreshShards(): Promise<void> {
    const startedAt = performance.now();
    try {
      const listed = await listShards(this.options.streams, this.arn as string);
      const firstLook = this.shards.size === 0;
      for (const shard of listed) this.track(shard, firstLook);
      const known = new Set(listed.map((s) => s.ShardId as string));
      const finished = new Set(
        [...this.shards.values()].filter((s) => s.finished).map((s) => s.shard.ShardId as string),
      );
      for (const state of this.shards.values()) {
        if (this.running && !state.finished && !state.worker && isReadable(state.shard, known, finished)) {
          state.worker = readShard(state, this.readerContext()).finally(() => {
            state.worker = undefined;
          });
        }
      }
      this.lastDiscoveryAt = startedAt;
    } catch (error) {
      this.report(new StreamPollerError('DescribeStream failed', { cause: error }));
    }
  }

  private track(shard: Shard, firstLook: boolean): void {
    const id = shard.ShardId as string;
    if (this.shards.has(id)) return;
    const start = firstLook ? (this.options.startingPosition ?? 'TRIM_HORIZON') : 'TRIM_HORIZON';
    // Starting at LATEST, a shard that is already closed has nothing new to offer.
    const finished = start === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
    this.shards.set(id, {
      shard,
      position: start,
      finished,
      processing: false,
      lastEmptyPollAt: Number.NEGATIVE_INFINITY,
    });
  }

  private readerContext(): ShardReaderContext {
    return {
      streams: this.options.streams,
      streamArn: this.arn as string,
      batchSize: this.options.batchSize ?? 100,
      pollIntervalMs: this.options.pollIntervalMs ?? 250,
      isRunning: () => this.running,
      sleep: (ms) => this.sleep(ms),
      deliver: (state, records) => this.deliver(state, records),
      report: (error) => this.report(error),
      onFinished: () => void this.discover(),
    };
  }

  private deliver(state: ShardState, raw: _Record[]): Promise<'done' | 'stopped'> {
    const source = { region: this.options.region, streamArn: this.arn as string };
    const records: DynamoDBRecord[] = raw.map((r) => toLambdaRecord(r, source));
    const policy: BatchPolicy = {
      maxRetries: this.options.maxRetries ?? -1,
      bisectOnError: this.options.bisectOnError ?? false,
      retryDelayMs: this.options.retryDelayMs ?? 100,
    };
    const onFailure = this.options.onFailure;
    const runtime: BatchRuntime = {
      handler: (batch) => {
        this.counters.batches++;
        this.counters.records += batch.length;
        return this.options.handler({ Records: structuredClone(batch) });
      },
      onFailure: onFailure
        ? async (batch, error) => {
            this.counters.failedToDestination += batch.length;
            await onFailure(batch, error);
          }
        : undefined,
      onError: (error) => this.report(error),
      checkpoint: (seq) => {
        state.checkpoint = seq;
      },
      sleep: (ms) => this.sleep(ms),
    };
    return processBatch(records, policy, runtime);
  }

  private report(error: unknown): void {
    this.options.onError?.(error);
  }

  private sleep(ms: number): Promise<boolean> {
    return this.sleeper.sleep(ms);
  }
}
