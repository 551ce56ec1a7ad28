import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorInput,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamPoller } from '../../../lib/sandbox/streams/poller.ts';
import { isReadable } from '../../../lib/sandbox/streams/shards.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/events/stream/2026-01-01T00:00:00.000';

interface ScriptedShard {
  id: string;
  parent?: string;
  values: number[];
  closed: boolean;
}

/**
 * A scripted stand-in for the DynamoDB Streams endpoint, for what DynamoDB Local never does: close
 * shards, split them into children and page DescribeStream. One shard per DescribeStream page.
 */
class ScriptedStreams {
  readonly shards: ScriptedShard[] = [];
  private seq = 100;
  private readonly seqs = new Map<string, number[]>();

  add(shard: ScriptedShard): void {
    this.shards.push(shard);
    this.seqs.set(
      shard.id,
      shard.values.map(() => this.seq++),
    );
  }

  async send(command: unknown): Promise<unknown> {
    if (command instanceof DescribeStreamCommand) {
      const from = command.input.ExclusiveStartShardId;
      const index = from === undefined ? 0 : this.shards.findIndex((s) => s.id === from) + 1;
      const shard = this.shards[index];
      const page = shard ? [{ ShardId: shard.id, ParentShardId: shard.parent, SequenceNumberRange: {} }] : [];
      const last = index < this.shards.length - 1 ? shard?.id : undefined;
      return { StreamDescription: { StreamArn: ARN, Shards: page, LastEvaluatedShardId: last } };
    }
    if (command instanceof GetShardIteratorCommand) return { ShardIterator: this.iterator(command.input) };
    if (command instanceof GetRecordsCommand) {
      const [id, at] = (command.input.ShardIterator as string).split('@') as [string, string];
      const shard = this.shards.find((s) => s.id === id) as ScriptedShard;
      const start = Number(at);
      const end = Math.min(shard.values.length, start + (command.input.Limit ?? 100));
      const Records = shard.values.slice(start, end).map((n, i) => ({
        eventID: `${id}-${start + i}`,
        eventName: 'INSERT',
        dynamodb: {
          SequenceNumber: String(this.seqs.get(id)?.[start + i]),
          NewImage: { n: { N: String(n) } },
        },
      }));
      const done = shard.closed && end === shard.values.length;
      return { Records, NextShardIterator: done ? undefined : `${id}@${end}` };
    }
    throw new Error(`Unexpected command ${String(command)}`);
  }

  private iterator(input: GetShardIteratorInput): string {
    const id = input.ShardId as string;
    const seqs = this.seqs.get(id) ?? [];
    if (input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER')
      return `${id}@${seqs.indexOf(Number(input.SequenceNumber)) + 1}`;
    return `${id}@${input.ShardIteratorType === 'LATEST' ? seqs.length : 0}`;
  }
}

const pollers: StreamPoller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

function poll(streams: ScriptedStreams, seen: number[]): StreamPoller {
  const p = new StreamPoller({
    streams: streams as unknown as DynamoDBStreamsClient,
    tableArnOrStreamArn: ARN,
    region: 'us-east-1',
    batchSize: 2,
    pollIntervalMs: 10,
    shardRefreshMs: 20,
    handler: async (e) =>
      void seen.push(...e.Records.map((r: DynamoDBRecord) => Number(r.dynamodb?.NewImage?.n?.N))),
  });
  pollers.push(p);
  return p;
}

describe('StreamPoller shard lineage', () => {
  it('reads a closed parent to its end before its children, whatever the listing order', async () => {
    const streams = new ScriptedStreams();
    // Children are listed first: only the lineage rule keeps their records after the parent's.
    streams.add({ id: 'child-a', parent: 'root', values: [4, 5], closed: false });
    streams.add({ id: 'root', values: [1, 2, 3], closed: true });
    streams.add({ id: 'child-b', parent: 'root', values: [6], closed: false });
    const seen: number[] = [];
    const p = poll(streams, seen);
    await p.start();
    await p.idle();
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seen.slice(3).sort()).toEqual([4, 5, 6]);
    expect(p.stats().shards).toBe(3);
  });

  it('picks up shards that appear after start', async () => {
    const streams = new ScriptedStreams();
    streams.add({ id: 'first', values: [1], closed: true });
    const seen: number[] = [];
    const p = poll(streams, seen);
    await p.start();
    await p.idle();
    expect(seen).toEqual([1]);
    streams.add({ id: 'second', parent: 'first', values: [2, 3], closed: false });
    await p.idle();
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('isReadable', () => {
  it('lets a shard be read when it has no parent, its parent is finished, or its parent was trimmed', () => {
    const known = new Set(['p', 'c']);
    expect(isReadable({ ShardId: 'p' }, known, new Set())).toBe(true);
    expect(isReadable({ ShardId: 'c', ParentShardId: 'p' }, known, new Set())).toBe(false);
    expect(isReadable({ ShardId: 'c', ParentShardId: 'p' }, known, new Set(['p']))).toBe(true);
    expect(isReadable({ ShardId: 'c', ParentShardId: 'gone' }, known, new Set())).toBe(true);
  });
});
