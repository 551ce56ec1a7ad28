/**
 * Probe for issue 15: does DynamoDB Local get slower per call as a table grows? One DynamoDB Local process
 * (the sandbox's JVM flags), the events table as the stacks define it (stream on, partition index), filled
 * with event-shaped items to each size, then per-call latency of GetItem, Query (an aggregate's log, a
 * partition's index page) and TransactWriteItems of 96 new items (Repair's chunk), one at a time and
 * `concurrent` at once (throughput in items/s).
 *
 *   node --import tsx bench/probes/ddb-local-size.ts [sizes=10000,60000,110000] [concurrent=32] [stream=on]
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { startDynamoLocal } from '../../lib/sandbox/dynamodb/local.ts';
import { createTableInput } from '../../lib/store/create-tables.ts';
import { TABLE_DEFINITIONS } from '../../lib/store/tables.ts';

const sizes = (process.argv[2] ?? '10000,60000,110000').split(',').map(Number);
const concurrent = Number(process.argv[3] ?? 32);
const stream = (process.argv[4] ?? 'on') === 'on';
const TABLE = 'probe-events';
const PAYLOAD = 'x'.repeat(400);

let serial = 0;
const item = (aggregate: number, seq: number) => ({
  pk: `account#agg${aggregate}`,
  sk: `e#${String(seq).padStart(10, '0')}`,
  ppk: `p#${aggregate % 256}`,
  eventId: `ev${String(serial++).padStart(12, '0')}`,
  type: 'Deposit',
  payload: PAYLOAD,
  hlc: `${Date.now()}-0000-us-east-1`,
});

async function main() {
  const local = await startDynamoLocal();
  const client = new DynamoDBClient({
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' },
  });
  const doc = DynamoDBDocumentClient.from(client);
  try {
    const input = createTableInput(TABLE_DEFINITIONS.events, TABLE);
    if (!stream) delete input.StreamSpecification;
    await client.send(new CreateTableCommand(input));
    let aggregates = 0;
    const fill = async (target: number) => {
      const items: Record<string, unknown>[] = [];
      while (serial < target) {
        for (let s = 1; s <= 10; s++) items.push(item(aggregates, s));
        aggregates++;
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < items.length) {
            const start = next;
            next += 25;
            let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
            while (requests.length > 0) {
              const out = await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: requests } }));
              requests = (out.UnprocessedItems?.[TABLE] ?? []) as typeof requests;
            }
          }
        }),
      );
    };
    const time = async (n: number, call: (i: number) => Promise<unknown>) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) await call(i);
      return (performance.now() - started) / n;
    };
    const transact = () => {
      const a = aggregates++;
      return doc.send(
        new TransactWriteCommand({
          TransactItems: Array.from({ length: 96 }, (_, s) => ({
            Put: { TableName: TABLE, Item: item(a, s + 1), ConditionExpression: 'attribute_not_exists(pk)' },
          })),
        }),
      );
    };
    console.log(`stream ${stream ? 'on' : 'off'}, ${concurrent} concurrent transactions`);
    for (const size of sizes) {
      const filling = performance.now();
      await fill(size);
      const fillMs = performance.now() - filling;
      const random = () => Math.floor(Math.random() * (aggregates - 1));
      const get = await time(200, () =>
        doc.send(
          new GetCommand({ TableName: TABLE, Key: { pk: `account#agg${random()}`, sk: 'e#0000000001' } }),
        ),
      );
      const log = await time(200, () =>
        doc.send(
          new QueryCommand({
            TableName: TABLE,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `account#agg${random()}` },
          }),
        ),
      );
      const page = await time(10, (i) =>
        doc.send(
          new QueryCommand({
            TableName: TABLE,
            IndexName: TABLE_DEFINITIONS.events.globalSecondaryIndexes![0]!.indexName,
            KeyConditionExpression: 'ppk = :p',
            ExpressionAttributeValues: { ':p': `p#${i}` },
            Limit: 100,
          }),
        ),
      );
      const one = await time(10, transact);
      const burst = performance.now();
      await Promise.all(Array.from({ length: concurrent }, transact));
      const burstMs = performance.now() - burst;
      console.log(
        `${String(size).padStart(7)} items (filled at ${Math.round((size / fillMs) * 1000)}/s): GetItem ${get.toFixed(2)} ms, Query log ${log.toFixed(2)} ms, index page(100) ${page.toFixed(1)} ms, TransactWrite(96) ${one.toFixed(0)} ms alone, ${concurrent} at once ${Math.round(burstMs)} ms = ${Math.round((concurrent * 96 * 1000) / burstMs)} items/s`,
      );
    }
  } finally {
    client.destroy();
    await local.stop();
  }
}

await main();
