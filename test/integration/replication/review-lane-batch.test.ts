import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withBug } from '../../../lib/faults/index.ts';
import {
  type AnyAggregate,
  createRegistry,
  defineAggregate,
  type EventEnvelope,
} from '../../../lib/model/index.ts';
import {
  type ApplyReplicatedBatch,
  createBatchApplier,
  type LaneRecord,
} from '../../../lib/replication/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from './cells.ts';

/**
 * Review of i15-lane (adversarial): the ordinary lane's batch applier on DynamoDB Local, real parts.
 * Each test states the interleaving it plays and what issue 15's rules demand.
 */

/** An ordinary aggregate whose events carry a blob (logs: the tier's own use case), up to maxEventBytes. */
const blobLog = defineAggregate<{ count: number }>({
  name: 'bloblog',
  tier: 'ordinary',
  commands: { Write: z.strictObject({ blob: z.string().max(300_000) }) },
  events: { Written: { version: 1, schema: z.strictObject({ blob: z.string().max(300_000) }) } },
  initialState: () => ({ count: 0 }),
  decide: (command) => (command.type === 'Write' ? [{ type: 'Written', payload: command.payload }] : []),
  evolve: (state, event) => (event.type === 'Written' ? { count: state.count + 1 } : state),
});

const aggregates: AnyAggregate[] = [...testAggregates, blobLog];
const topology = testTopology({
  aggregates: [
    { type: 'account', tier: 'core' },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'profile-rule', tier: 'important', conflict: 'rule' },
    { type: 'profile-manual', tier: 'important', conflict: 'manual' },
    { type: 'activity', tier: 'ordinary' },
    { type: 'bloblog', tier: 'ordinary' },
  ],
});
const registry = createRegistry(aggregates, topology);

let origin: Cell;

beforeAll(async () => {
  origin = await makeCell('us-east-1', { topology, aggregates });
});

function batchApplierOf(cell: Cell, events = cell.events): ApplyReplicatedBatch {
  return createBatchApplier({
    region: cell.region,
    topology,
    registry,
    clock: cell.clock,
    events,
    states: cell.states,
    watermarks: cell.watermarks,
    parking: cell.parking,
    quarantine: cell.quarantine,
    conflicts: cell.conflicts,
  });
}

/** A lane message as the rule puts it on the queue: the EventBridge event, as JSON. */
const message = (event: unknown, id: string): LaneRecord => ({
  id,
  body: JSON.stringify({ source: 'multiactive.replication', 'detail-type': 'x', detail: event }),
});

async function appendEntries(aggregateId: string, messages: string[]): Promise<EventEnvelope[]> {
  const out: EventEnvelope[] = [];
  for (const m of messages)
    out.push(
      ...(
        await origin.execute({
          aggregateType: 'activity',
          aggregateId,
          command: { type: 'AppendEntry', payload: { kind: 'k', message: m } },
        })
      ).events,
    );
  return out;
}

/**
 * The document client as DynamoDB in AWS answers a TransactWriteItems naming one item twice: "no two
 * actions can target the same item" (TransactWriteItems API reference), a ValidationException
 * "Transaction request cannot include multiple operations on one item". DynamoDB Local (and therefore the
 * sandbox) evaluates such a transaction item by item instead, so this limit is added here, nothing else.
 */
function awsStrict(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  const send = doc.send.bind(doc) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof TransactWriteCommand) {
          const seen = new Set<string>();
          for (const item of command.input.TransactItems ?? []) {
            const action = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
            const attrs = (item.Put?.Item ?? (action as { Key?: unknown })?.Key ?? {}) as Record<
              string,
              unknown
            >;
            const key = `${action?.TableName}|${String(attrs.pk)}|${String(attrs.sk)}`;
            if (seen.has(key))
              return Promise.reject(
                Object.assign(
                  new Error('Transaction request cannot include multiple operations on one item'),
                  {
                    name: 'ValidationException',
                  },
                ),
              );
            seen.add(key);
          }
        }
        return send(command, ...rest);
      };
    },
  });
}

describe('review of i15-lane: batch applier', () => {
  /**
   * Interleaving: two DIFFERENT events of one ordinary aggregate claim the same key (same HLC of the same
   * origin: a forged or buggy event, the `KeyCollision` poison the per-event path quarantines) and arrive
   * in the same lane batch, beside a good event of that aggregate. The batch path puts both into ONE
   * TransactWriteItems; DynamoDB refuses a transaction with two operations on one item with a
   * ValidationException (not a TransactionCanceledException, so never a ConcurrencyError), which
   * `retryable()` rethrows and `writeGroup` takes for a transient failure: every record of the aggregate
   * is reported in batchItemFailures. Redelivered together (the same messages come back together after the
   * visibility timeout), they fail the same way until maxReceiveCount moves them ALL, the good event
   * included, to the lane's dead letters. Issue 15: "a batch with one poison event quarantines that event
   * and applies the rest".
   */
  it('quarantines one of two events that collide on one key in the same batch and applies the rest', () =>
    collidingBatch());

  it('is caught when a run keeps two events of one key (bug switch lane-same-key-run)', async () => {
    await expect(withBug('lane-same-key-run', collidingBatch)).rejects.toThrow();
  });

  it('is caught when a refused transaction is taken for transient (bug switch lane-validation-transient)', async () => {
    await expect(withBug('lane-validation-transient', () => bigBatch(4))).rejects.toThrow();
  });

  it(
    'applies a batch of large ordinary events of one aggregate (runs cut under the 4 MB transaction limit)',
    () => bigBatch(25),
    120_000,
  );

  it('is caught when runs are cut by count only (bug switch lane-runs-by-count)', async () => {
    await expect(withBug('lane-runs-by-count', () => bigBatch(25))).rejects.toThrow();
  }, 120_000);
});

async function collidingBatch(): Promise<void> {
  const id = `review-collide-${Date.now().toString(36)}`;
  const [first, good] = await appendEntries(id, ['a', 'b']);
  const forged: EventEnvelope = {
    ...first!,
    eventId: ulid(),
    payload: { kind: 'k', message: 'forged at the same HLC' },
  };
  const target = await makeCell('eu-west-1', { topology, aggregates });
  const strictEvents = new EventStore({
    client: awsStrict(target.db.doc),
    tableName: target.db.tables.events,
    coreMarkerTableName: target.db.tables.replication,
  });
  const apply = batchApplierOf(target, strictEvents);
  const records = [message(first, 'm0'), message(forged, 'm1'), message(good, 'm2')];
  // Up to maxReceiveCount (5) deliveries of the same batch: one of them must settle it.
  let report = await apply(records);
  // The good events go in one transaction (the run), the colliding one alone down the per-event path.
  expect(report.runs).toBe(1);
  for (let receive = 2; receive <= 5 && report.failed.length > 0; receive++) report = await apply(records);
  expect(report.failed).toEqual([]);
  expect(await target.quarantine.count()).toBe(1);
  const log = await target.events.loadStream('activity', id);
  expect(log.map((e) => e.eventId).sort()).toContain(good!.eventId);
  expect(log).toHaveLength(2);
}

/**
 * Interleaving: a burst of ordinary log events of one aggregate (each well under maxEventBytes, 256 KiB
 * by default; here ~200 KB) reaches the lane and lands in one batch (batchSize 100). The batch path
 * writes the aggregate's events in runs of up to 99 events in ONE TransactWriteItems, but a transaction
 * carries at most 4 MB: 25 × 200 KB is refused with a ValidationException, taken for a transient
 * failure, the records reported failed, and the same batch fails the same way on every redelivery until
 * the lane's dead letters take every one of them. The per-event path writes each in its own transaction
 * and applies them all. (The run must also be cut by bytes, not only by count.)
 */
/**
 * `count` events of ~200 KB of one aggregate in one batch. With 25 (5 MB), the count-only cut puts them in
 * one transaction over 4 MB. With 4 (800 KB, under the 4 MB), `awsStrict`'s refusal of a second operation
 * on the row is not played; instead the run goes through a client refusing any transaction over 700 KB as
 * DynamoDB refuses one over 4 MB (a ValidationException): the run must go one by one, not fail forever.
 */
async function bigBatch(count: number): Promise<void> {
  const id = `review-big-${Date.now().toString(36)}-${count}`;
  const written: EventEnvelope[] = [];
  for (let i = 0; i < count; i++)
    written.push(
      ...(
        await origin.execute({
          aggregateType: 'bloblog',
          aggregateId: id,
          command: { type: 'Write', payload: { blob: `${i}`.padEnd(200_000, 'x') } },
        })
      ).events,
    );
  const target = await makeCell('eu-west-1', { topology, aggregates });
  const events =
    count < 25
      ? new EventStore({
          client: sizeCapped(target.db.doc, 700_000),
          tableName: target.db.tables.events,
          coreMarkerTableName: target.db.tables.replication,
        })
      : target.events;
  const records = written.map((e, i) => message(e, `m${i}`));
  const report = await batchApplierOf(target, events)(records);
  expect(report.failed).toEqual([]);
  // 25 × 200 KB: written by the batch path in runs under 4 MB, not refused and sent one by one.
  if (count === 25) expect(report.runs).toBeGreaterThanOrEqual(2);
  expect((await target.states.getState('bloblog', id))?.version).toBe(count);
}

/** The document client refusing a TransactWriteItems over `maxBytes` as DynamoDB does one over 4 MB. */
function sizeCapped(doc: DynamoDBDocumentClient, maxBytes: number): DynamoDBDocumentClient {
  const send = doc.send.bind(doc) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (
          command instanceof TransactWriteCommand &&
          JSON.stringify(command.input.TransactItems ?? []).length > maxBytes
        )
          return Promise.reject(
            Object.assign(new Error('Transaction size has exceeded the maximum allowed size'), {
              name: 'ValidationException',
            }),
          );
        return send(command, ...rest);
      };
    },
  });
}
