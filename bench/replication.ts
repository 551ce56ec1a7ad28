/**
 * Replication benchmarks against one DynamoDB Local: (1) applier throughput vs raw PutItem in the same
 * run, (2) end-to-end lag from a command in region A, through A's real DynamoDB stream, the publisher and
 * an in-process bus, to region B's applier.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent, EventBridgeEvent } from 'aws-lambda';
import { createApplierHandler } from '../functions/applier/handler.ts';
import { createPublisherHandler } from '../functions/publisher/handler.ts';
import { decodeHlc, HybridLogicalClock } from '../lib/clock/index.ts';
import { executeCommand } from '../lib/commands/index.ts';
import { ConflictRecordStore } from '../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../lib/model/index.ts';
import {
  createApplier,
  ParkingStore,
  QuarantineStore,
  type ReplicationBus,
  WatermarkStore,
} from '../lib/replication/index.ts';
import { localClients } from '../lib/sandbox/dynamodb/clients.ts';
import { createTables, EventStore, StateStore, tableNames, toEventItem } from '../lib/store/index.ts';
import { benchApplication } from './application.ts';
import { LANE_SHAPE, type LaneThroughput, laneThroughput } from './lane-throughput.ts';
import { originChain } from './origin-chain.ts';
import type { Figure } from './report.ts';

/** The shared figure shape (bench/report.ts); `met` is null for reference figures. */
export type BenchFigure = Figure;

const topology = benchApplication.topology('dev');
const registry = createRegistry(benchApplication.aggregates, topology);
let envCounter = 0;

async function regionCell(endpoint: string, region: string) {
  const clients = localClients(endpoint, region);
  const env = `bench${Date.now().toString(36)}x${++envCounter}`;
  await createTables(clients.dynamodb, env);
  const tables = tableNames(env);
  const clock = new HybridLogicalClock({ region });
  const events = new EventStore({
    client: clients.doc,
    tableName: tables.events,
    coreMarkerTableName: tables.replication,
  });
  const states = new StateStore({ client: clients.doc, tableName: tables.state });
  const replication = { client: clients.doc, tableName: tables.replication };
  const apply = createApplier({
    region,
    topology,
    registry,
    clock,
    events,
    states,
    watermarks: new WatermarkStore(replication),
    parking: new ParkingStore(replication),
    conflicts: new ConflictRecordStore(replication),
    quarantine: new QuarantineStore({ client: clients.doc, tableName: tables.quarantine }),
  });
  return { clients, tables, clock, events, states, apply, region };
}

/** Events as region A would have written them: per aggregate, a causal chain (important) or a seq run (core). */
function originEvents(kind: 'profile' | 'account', id: string, count: number, clock: HybridLogicalClock) {
  return originChain(registry, { aggregate: kind, id, count, clock }, (i) =>
    kind === 'account'
      ? i === 0
        ? { type: 'AccountOpened', payload: { owner: 'o', currency: 'EUR' } }
        : { type: 'Deposited', payload: { amount: 1 } }
      : { type: 'EmailSet', payload: { email: `u${i}@example.com` } },
  );
}

/** Applier throughput vs raw PutItem, per-event and batched, on one DynamoDB Local. */
export async function throughput(endpoint: string, quick: boolean): Promise<BenchFigure[]> {
  const workers = 16;
  const perWorker = quick ? 40 : 100;
  const b = await regionCell(endpoint, 'eu-west-1');
  const originClock = new HybridLogicalClock({ region: 'us-east-1' });
  const run = Date.now().toString(36);
  // Raw PutItem: the same event items, 16 concurrent writers; half before the appliers and half after, so
  // the machine's load drifting during the run (other processes) weighs on both sides of the ratios alike.
  const raw = Array.from({ length: workers }, (_, w) =>
    originEvents(w % 2 ? 'account' : 'profile', `raw-${run}-${w}`, perWorker, originClock),
  );
  const half = Math.floor(perWorker / 2);
  const putRaw = async (from: number, to: number): Promise<number> => {
    const began = performance.now();
    await Promise.all(
      raw.map(async (events) => {
        for (const event of events.slice(from, to)) {
          await b.clients.doc.send(
            new PutCommand({
              TableName: `${b.tables.events}`,
              Item: toEventItem('important', { ...event, aggregateId: `${event.aggregateId}-p` }),
            }),
          );
        }
      }),
    );
    return performance.now() - began;
  };
  let rawMs = await putRaw(0, half);
  // The applier: 16 concurrent appliers on distinct aggregates, half important (profile), half core (account).
  const streams = Array.from({ length: workers }, (_, w) =>
    originEvents(w % 2 ? 'account' : 'profile', `app-${run}-${w}`, perWorker, originClock),
  );
  const started = performance.now();
  await Promise.all(
    streams.map(async (events) => {
      for (const event of events) {
        const outcome = await b.apply(event);
        if (outcome.status !== 'applied') throw new Error(`bench apply: ${JSON.stringify(outcome)}`);
      }
    }),
  );
  const applyRate = (workers * perWorker) / ((performance.now() - started) / 1000);
  // The batched path (the ordinary lane), on the same DynamoDB Local: 10 aggregates a batch, then 100.
  const cell = {
    region: b.region,
    doc: b.clients.doc,
    tables: b.tables,
    clock: b.clock,
    events: b.events,
    states: b.states,
  };
  const lanes = [];
  for (const aggregatesPerBatch of [10, 100]) {
    const lane = await laneThroughput(cell, {
      registry,
      topology,
      totalEvents: quick ? 500 : 1000,
      clock: originClock,
      aggregatesPerBatch,
    });
    lanes.push({ ...lane, aggregatesPerBatch });
  }
  rawMs += await putRaw(half, perWorker);
  const rawRate = (workers * perWorker) / (rawMs / 1000);
  const ratio = (applyRate / rawRate) * 100;
  return [
    {
      figure: 'raw PutItem throughput (16 writers, DynamoDB Local; half before the appliers, half after)',
      value: Math.round(rawRate),
      unit: 'items/s',
      target: 'reference',
      met: null,
    },
    {
      figure: 'applier throughput (16 appliers, important + core)',
      value: Math.round(applyRate),
      unit: 'events/s',
      target: 'reference',
      met: null,
    },
    {
      figure: 'applier throughput vs raw PutItem, per-event path (real time: core, important)',
      value: Math.round(ratio * 10) / 10,
      unit: '%',
      target: 'reference',
      met: null,
    },
    ...lanes.flatMap((lane) => laneFigures({ ...lane, ratio: (lane.eventsPerSecond / rawRate) * 100 })),
  ];
}

/** The batched path's figures for one batch shape; the 10-aggregate shape carries the >= 70 % target. */
function laneFigures(lane: LaneThroughput & { aggregatesPerBatch: number; ratio: number }): BenchFigure[] {
  const { batchSize, concurrency } = LANE_SHAPE;
  const shape = `${concurrency} batches at once of ${batchSize} records, ${lane.aggregatesPerBatch} aggregates each`;
  const requests = Object.values(lane.requestsPerEvent).reduce((a, n) => a + n, 0);
  const typical = lane.aggregatesPerBatch < batchSize;
  return [
    {
      figure: `batched applier throughput (ordinary lane: ${shape}; ${lane.events} events)`,
      value: Math.round(lane.eventsPerSecond),
      unit: 'events/s',
      target: 'reference',
      met: null,
    },
    {
      figure: `batched applier DynamoDB requests per event, ${lane.aggregatesPerBatch} aggregates a batch (${Object.entries(
        lane.requestsPerEvent,
      )
        .map(([command, n]) => `${command} ${n}`)
        .join(', ')})`,
      value: Math.round(requests * 1000) / 1000,
      unit: 'requests/event',
      target: 'reference',
      met: null,
    },
    {
      figure: `applier throughput vs raw PutItem, batched path (ordinary lane, ${lane.aggregatesPerBatch} aggregates a batch${typical ? '' : ': one event per aggregate, the worst case'})`,
      value: Math.round(lane.ratio * 10) / 10,
      unit: '%',
      target: typical ? '>= 70%' : 'reference',
      met: typical ? lane.ratio >= 70 : null,
    },
  ];
}

/** Lambda's stream record: like the Streams API's, with the creation time in epoch seconds and the ARN. */
function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return {
    ...(record as unknown as DynamoDBRecord),
    dynamodb: {
      ...(record.dynamodb as unknown as DynamoDBRecord['dynamodb']),
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
    },
    eventSourceARN: streamArn,
  };
}

/**
 * A minimal stream poller over the real DynamoDB Streams API: GetRecords on every shard, from the oldest
 * record (the tables are fresh). DynamoDB Local answers LATEST on an empty shard with
 * TrimmedDataAccessException, hence TRIM_HORIZON.
 */
export async function streamPoller(
  clients: { dynamodb: DynamoDBClient; streams: DynamoDBStreamsClient },
  table: string,
) {
  const described = await clients.dynamodb.send(new DescribeTableCommand({ TableName: table }));
  const streamArn = described.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${table} has no stream`);
  const stream = await clients.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const iterators = new Map<string, string | undefined>();
  const lastSeen = new Map<string, string>();
  const iteratorFor = async (shardId: string) => {
    const after = lastSeen.get(shardId);
    const it = await clients.streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return it.ShardIterator;
  };
  for (const shard of stream.StreamDescription?.Shards ?? [])
    iterators.set(shard.ShardId!, await iteratorFor(shard.ShardId!));
  async function read(shard: string, iterator: string) {
    try {
      return await clients.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
    } catch (error) {
      // DynamoDB Local invalidates an iterator taken on an empty shard once the first record lands.
      if ((error as Error).name !== 'TrimmedDataAccessException') throw error;
      const fresh = await iteratorFor(shard);
      return fresh
        ? clients.streams.send(new GetRecordsCommand({ ShardIterator: fresh, Limit: 100 }))
        : undefined;
    }
  }
  return {
    async poll(): Promise<DynamoDBStreamEvent> {
      const records: DynamoDBRecord[] = [];
      for (const [shard, iterator] of iterators) {
        if (!iterator) continue;
        const page = await read(shard, iterator);
        iterators.set(shard, page?.NextShardIterator);
        const fresh = page?.Records ?? [];
        const last = fresh.at(-1)?.dynamodb?.SequenceNumber;
        if (last) lastSeen.set(shard, last);
        records.push(...fresh.map((r) => toLambdaRecord(r, streamArn)));
      }
      return { Records: records };
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function endToEnd(endpoint: string, quick: boolean): Promise<BenchFigure[]> {
  const a = await regionCell(endpoint, 'us-east-1');
  const b = await regionCell(endpoint, 'eu-west-1');
  const lags: number[] = [];
  const applyB = createApplierHandler({ apply: b.apply });
  // The in-process bus hands each entry to B's applier as the EventBridge event a rule target receives.
  const bus: ReplicationBus = {
    async putEvents(entries) {
      // EventBridge invokes the applier once per event, concurrently: so does this bus.
      const results = await Promise.all(
        entries.map(async (entry) => {
          const detail = JSON.parse(entry.Detail) as EventEnvelope;
          const event: EventBridgeEvent<string, unknown> = {
            version: '0',
            id: crypto.randomUUID(),
            'detail-type': entry.DetailType,
            source: entry.Source,
            account: topology.account,
            time: `${new Date().toISOString().slice(0, 19)}Z`,
            region: 'eu-west-1',
            resources: [],
            detail,
          };
          const outcome = await applyB(event);
          if (outcome.status === 'applied') lags.push(Date.now() - decodeHlc(detail.hlc).wall);
          return { EventId: event.id };
        }),
      );
      return { FailedEntryCount: 0, Entries: results };
    },
  };
  const publish = createPublisherHandler({ region: 'us-east-1', bus });
  const poller = await streamPoller(a.clients, a.tables.events);
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const batch = await poller.poll();
      if (batch.Records.length > 0) await publish(batch);
      else await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const deps = {
    registry,
    events: a.events,
    states: a.states,
    clock: a.clock,
    region: 'us-east-1',
    partitions: topology.partitions,
  };
  const writes = quick ? 60 : 300;
  for (let i = 0; i < writes; i++) {
    await executeCommand(deps, {
      aggregateType: 'profile',
      aggregateId: `e2e-${i % 8}`,
      command: { type: 'SetDisplayName', payload: { displayName: `n${i}` } },
    });
    // A steady trickle (~40 writes/s): the figure is pipeline latency, not the drain time of a backlog.
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 10_000;
  while (lags.length < writes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await loop;
  const sorted = [...lags].sort((x, y) => x - y);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  return [
    {
      figure: `end-to-end lag p50 (${sorted.length}/${writes} events)`,
      value: p50,
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'end-to-end lag p99 (stream -> publisher -> bus -> applier)',
      value: p99,
      unit: 'ms',
      target: 'p99 < 100 ms',
      met: p99 < 100 && sorted.length === writes,
    },
  ];
}

/** Runs both replication benchmarks against a running DynamoDB Local. */
export async function runReplicationBench(options: {
  endpoint: string;
  quick?: boolean;
}): Promise<BenchFigure[]> {
  const quick = options.quick ?? false;
  return [...(await throughput(options.endpoint, quick)), ...(await endToEnd(options.endpoint, quick))];
}
