import type { _Record, DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  readShard,
  type ShardReaderContext,
  type ShardState,
} from '../../../lib/sandbox/streams/shard-reader.ts';

// A virtual clock: GetRecords "takes" `getRecordsMs`, sleeps move the clock by what they ask for.
function harness(pages: Array<_Record[]>, getRecordsMs: number) {
  let now = 1_000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  const sleeps: number[] = [];
  const delivered: number[] = [];
  const streams = {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetShardIteratorCommand') return { ShardIterator: 'it-0' };
      now += getRecordsMs;
      const Records = pages.shift();
      return Records === undefined ? { Records: [] } : { Records, NextShardIterator: 'it-n' };
    },
  } as unknown as DynamoDBStreamsClient;
  const state: ShardState = {
    shard: { ShardId: 'shard-1' },
    position: 'TRIM_HORIZON',
    finished: false,
    processing: false,
    lastEmptyPollAt: Number.NEGATIVE_INFINITY,
  };
  const ctx: ShardReaderContext = {
    streams,
    streamArn: 'arn:stream',
    batchSize: 100,
    pollIntervalMs: 250,
    isRunning: () => true,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      return true;
    },
    deliver: async (_state, records) => {
      delivered.push(records.length);
      return 'done';
    },
    report: () => {},
    onFinished: () => {},
  };
  return { state, ctx, sleeps, delivered };
}

const record = (seq: string): _Record => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: seq } });

afterEach(() => vi.restoreAllMocks());

describe('readShard', () => {
  it('starts a poll every pollIntervalMs while the shard is empty, the GetRecords time included', async () => {
    // Three empty polls, then the page without NextShardIterator ends the (closed) shard.
    const { state, ctx, sleeps } = harness([[], [], []], 40);
    await readShard(state, ctx);
    expect(sleeps).toEqual([210, 210, 210]);
    expect(state.finished).toBe(true);
  });

  it('reads again at once after a batch with records', async () => {
    const { state, ctx, sleeps, delivered } = harness([[record('1'), record('2')], [record('3')], []], 40);
    await readShard(state, ctx);
    expect(delivered).toEqual([2, 1]);
    expect(sleeps).toEqual([210]);
  });

  it('does not sleep at all when a poll took longer than the interval', async () => {
    const { state, ctx, sleeps } = harness([[]], 300);
    await readShard(state, ctx);
    expect(sleeps).toEqual([0]);
  });
});
