import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { account } from '../examples/bank/index.ts';
import {
  foldedContent,
  foldFullLog,
  loadAggregate,
  SnapshotStore,
  snapshotOf,
} from '../lib/lifecycle/index.ts';
import type { EventEnvelope } from '../lib/model/index.ts';
import { localClients } from '../lib/sandbox/dynamodb/clients.ts';
import { createTables, EventStore, tableNames, toEventItem } from '../lib/store/index.ts';
import { accountLog } from '../test/support/core-history.ts';
import { type Figure, percentile, round } from './report.ts';

/** The snapshot interval measured (`lifecycle.snapshotEvery`). */
const SNAPSHOT_EVERY = 100;
/** BatchWriteItem takes at most 25 items; several batches in flight seed the histories. */
const BATCH = 25;
const WRITERS = 8;

/** Writes a history straight to the events table, 25 items per BatchWriteItem (unprocessed items again). */
export async function seed(doc: DynamoDBDocumentClient, table: string, log: readonly EventEnvelope[]) {
  const batches: Array<Record<string, unknown>[]> = [];
  for (let i = 0; i < log.length; i += BATCH)
    batches.push(log.slice(i, i + BATCH).map((event) => toEventItem('core', event)));
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < batches.length) {
        let items = batches[next++]!.map((Item) => ({ PutRequest: { Item } }));
        while (items.length > 0) {
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
          items = (out.UnprocessedItems?.[table] ?? []) as typeof items;
        }
      }
    }),
  );
}

/** Median wall time (ms) of `runs` calls. */
async function timed(runs: number, load: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await load();
    times.push(performance.now() - t0);
  }
  return percentile(times, 50);
}

/**
 * Load time of one account with 1,000 / 10,000 / 100,000 events, from its newest snapshot plus the tail
 * after it vs a fold of the whole log, on DynamoDB Local. The snapshot sits 99 events behind the head:
 * the longest tail `snapshotEvery: 100` leaves.
 */
export async function runSnapshotsBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const clients = localClients(options.endpoint, 'us-east-1');
  const env = `snap${Date.now().toString(36)}`;
  await createTables(clients.dynamodb, env);
  const tables = tableNames(env);
  const events = new EventStore({ client: clients.doc, tableName: tables.events });
  const snapshots = new SnapshotStore({ client: clients.doc, tableName: tables.snapshots });
  const sizes = options.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  const figures: Figure[] = [];
  const withSnapshots = new Map<number, number>();
  const without = new Map<number, number>();
  let seeded = 0;
  let seedMs = 0;
  for (const size of sizes) {
    const id = `bench-${size}`;
    const ops = Array.from({ length: size - 1 }, (_, i) => ({
      type: 'Deposited' as const,
      amount: 1 + (i % 7),
    }));
    const log = accountLog(ops, { aggregateId: id });
    const t0 = performance.now();
    await seed(clients.doc, tables.events, log);
    seedMs += performance.now() - t0;
    seeded += log.length;
    const at = size - (SNAPSHOT_EVERY - 1);
    const full = foldFullLog(account, id, log);
    await snapshots.put(snapshotOf(account, foldFullLog(account, id, log.slice(0, at)), log[at - 1]!));
    // Both loads must give the row the whole log folds to, or the timing means nothing.
    for (const deps of [{ events, snapshots }, { events }]) {
      const loaded = await loadAggregate(deps, account, id);
      if (JSON.stringify(foldedContent(loaded.record)) !== JSON.stringify(foldedContent(full)))
        throw new Error(`${id}: a load differs from the full fold`);
    }
    withSnapshots.set(size, await timed(7, () => loadAggregate({ events, snapshots }, account, id)));
    without.set(size, await timed(size >= 100_000 ? 2 : 5, () => loadAggregate({ events }, account, id)));
    const label = size.toLocaleString('en-US');
    figures.push(
      {
        figure: `load ${label} events, snapshot + tail`,
        value: round(withSnapshots.get(size)!, 1),
        unit: 'ms',
        target: 'reference',
        met: null,
      },
      {
        figure: `load ${label} events, full fold`,
        value: round(without.get(size)!, 1),
        unit: 'ms',
        target: 'reference',
        met: null,
      },
    );
  }
  const largest = sizes[sizes.length - 1]!;
  const ratio = withSnapshots.get(largest)! / withSnapshots.get(1_000)!;
  const fullRatio = without.get(largest)! / without.get(1_000)!;
  clients.dynamodb.destroy();
  return [
    ...figures,
    {
      figure: `snapshot + tail: load at ${largest.toLocaleString('en-US')} / load at 1,000`,
      value: round(ratio, 2),
      unit: '×',
      target: '<= 2',
      met: ratio <= 2,
    },
    {
      figure: `full fold: load at ${largest.toLocaleString('en-US')} / load at 1,000`,
      value: round(fullRatio, 1),
      unit: '×',
      target: 'reference',
      met: null,
    },
    {
      figure: 'history seeded (BatchWriteItem, 8 in flight)',
      value: round(seeded / (seedMs / 1000), 0),
      unit: 'events/s',
      target: 'reference',
      met: null,
    },
  ];
}
