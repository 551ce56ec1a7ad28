import {
  type _Record,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { StreamPollerError } from './errors.ts';

/** Where the poller is in one shard. */
export interface ShardState {
  shard: Shard;
  /** Where to start when there is no checkpoint yet. */
  position: 'TRIM_HORIZON' | 'LATEST';
  iterator?: string;
  /** Sequence number of the last record done with (processed or handed to onFailure). */
  checkpoint?: string;
  /** Read to its end (closed shard, NextShardIterator absent). */
  finished: boolean;
  worker?: Promise<void>;
  processing: boolean;
  /** When the latest poll that found nothing started (performance.now()). */
  lastEmptyPollAt: number;
}

/** What reading a shard needs from the poller. */
export interface ShardReaderContext {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  batchSize: number;
  pollIntervalMs: number;
  isRunning: () => boolean;
  sleep: (ms: number) => Promise<boolean>;
  /** Processes a batch (retries included); `stopped` means the poller stopped before it was done. */
  deliver: (state: ShardState, records: _Record[]) => Promise<'done' | 'stopped'>;
  report: (error: unknown) => void;
  /** Called when the shard is closed and read to its end: time to look for its children. */
  onFinished: () => void;
}

async function fetchPage(
  state: ShardState,
  ctx: ShardReaderContext,
): Promise<GetRecordsCommandOutput | undefined> {
  try {
    state.iterator ??= (
      await ctx.streams.send(
        new GetShardIteratorCommand({
          StreamArn: ctx.streamArn,
          ShardId: state.shard.ShardId,
          ShardIteratorType: state.checkpoint ? 'AFTER_SEQUENCE_NUMBER' : state.position,
          SequenceNumber: state.checkpoint,
        }),
      )
    ).ShardIterator;
    return await ctx.streams.send(
      new GetRecordsCommand({ ShardIterator: state.iterator, Limit: ctx.batchSize }),
    );
  } catch (error) {
    state.iterator = undefined;
    const name = error instanceof Error ? error.name : '';
    // An expired iterator is routine (they last 15 minutes): get a new one from the checkpoint at once.
    if (name === 'ExpiredIteratorException') return undefined;
    // Trimmed: the checkpoint is older than the 24 h retention; records were lost before we read them.
    if (name === 'TrimmedDataAccessException') state.checkpoint = undefined;
    ctx.report(new StreamPollerError(`GetRecords failed on shard ${state.shard.ShardId}`, { cause: error }));
    await ctx.sleep(ctx.pollIntervalMs);
    return undefined;
  }
}

/**
 * Reads one shard until it is finished or the poller stops: a batch right after a non-empty one, the
 * next poll `pollIntervalMs` after the start of an empty one (Lambda polls a shard four times a second:
 * a poll every 250 ms, not 250 ms of idling on top of each GetRecords round trip), each batch delivered
 * before the next is read.
 */
export async function readShard(state: ShardState, ctx: ShardReaderContext): Promise<void> {
  while (ctx.isRunning() && !state.finished) {
    const startedAt = performance.now();
    const page = await fetchPage(state, ctx);
    if (!page) continue;
    const records = page.Records ?? [];
    if (records.length > 0) {
      state.processing = true;
      const outcome = await ctx.deliver(state, records);
      state.processing = false;
      if (outcome === 'stopped') {
        // Re-read from the checkpoint on restart, not from this batch's start.
        state.iterator = undefined;
        return;
      }
    } else {
      state.lastEmptyPollAt = startedAt;
    }
    state.iterator = page.NextShardIterator;
    if (!state.iterator) {
      state.finished = true;
      ctx.onFinished();
      return;
    }
    if (records.length === 0)
      await ctx.sleep(Math.max(0, startedAt + ctx.pollIntervalMs - performance.now()));
  }
}
