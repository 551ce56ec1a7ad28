import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { localClients } from '../lib/sandbox/dynamodb/clients.ts';
import { createTables, EventStore, tableNames, toEventItem } from '../lib/store/index.ts';
import { sampleEnvelope } from '../test/support/envelopes.ts';
import { type Figure, percentile, round } from './report.ts';

const WRITERS = 16;

interface Run {
  readonly opsPerSecond: number;
  readonly latencies: number[];
}

/** Runs `perWriter` operations on each of 16 concurrent writers and measures throughput and latency. */
async function measure(perWriter: number, op: (writer: number, i: number) => Promise<unknown>): Promise<Run> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let i = 0; i < perWriter; i++) {
        const t0 = performance.now();
        await op(writer, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { opsPerSecond: (WRITERS * perWriter) / seconds, latencies };
}

/**
 * Event-store append vs raw PutItem of the same item on the same DynamoDB Local, 16 concurrent writers,
 * alternating rounds so that JVM warm-up and machine noise fall on both sides alike.
 */
export async function runStoreBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const clients = localClients(options.endpoint, 'us-east-1');
  const env = `bench${Date.now().toString(36)}`;
  await createTables(clients.dynamodb, env);
  const table = tableNames(env).events;
  const store = new EventStore({
    client: clients.doc,
    tableName: table,
    coreMarkerTableName: tableNames(env).replication,
  });
  const perWriter = options.quick ? 60 : 250;
  const rounds = options.quick ? 2 : 3;
  const envelope = (prefix: string, round: number, writer: number, i: number) =>
    sampleEnvelope({ aggregateId: `${prefix}-${round}-${writer}`, seq: i + 1 });

  await measure(20, (w, i) => store.appendEvents([envelope('warm', 0, w, i)], { tier: 'core' }));
  const raw: Run[] = [];
  const appended: Run[] = [];
  for (let r = 1; r <= rounds; r++) {
    raw.push(
      await measure(perWriter, (w, i) =>
        clients.doc.send(
          new PutCommand({ TableName: table, Item: toEventItem('core', envelope('raw', r, w, i)) }),
        ),
      ),
    );
    appended.push(
      await measure(perWriter, (w, i) => store.appendEvents([envelope('store', r, w, i)], { tier: 'core' })),
    );
  }
  const median = (runs: Run[]) =>
    percentile(
      runs.map((x) => x.opsPerSecond),
      50,
    );
  const all = (runs: Run[]) => runs.flatMap((x) => x.latencies);
  const ratio = (median(appended) / median(raw)) * 100;
  clients.dynamodb.destroy();
  return [
    {
      figure: 'store append throughput (16 writers)',
      value: round(median(appended), 0),
      unit: 'events/s',
      target: 'reference',
      met: null,
    },
    {
      figure: 'raw PutItem throughput (16 writers)',
      value: round(median(raw), 0),
      unit: 'puts/s',
      target: 'reference',
      met: null,
    },
    {
      figure: 'store / raw PutItem throughput',
      value: round(ratio, 1),
      unit: '%',
      target: '>= 85%',
      met: ratio >= 85,
    },
    {
      figure: 'store append latency p50',
      value: round(percentile(all(appended), 50)),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'store append latency p99',
      value: round(percentile(all(appended), 99)),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'raw PutItem latency p50',
      value: round(percentile(all(raw), 50)),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'raw PutItem latency p99',
      value: round(percentile(all(raw), 99)),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
  ];
}
