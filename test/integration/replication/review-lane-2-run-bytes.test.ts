import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonBytes } from '../../../lib/model/canonical-json.ts';
import {
  type AnyAggregate,
  createRegistry,
  defineAggregate,
  type EventEnvelope,
} from '../../../lib/model/index.ts';
import { MAX_RUN_BYTES } from '../../../lib/replication/apply-batch.ts';
import { createBatchApplier, type LaneRecord } from '../../../lib/replication/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from './cells.ts';

/**
 * Review 2 of i15-lane (adversarial), finding 1 (runs cut by bytes). 1471aad cuts a run when the sum of
 * `jsonBytes(event) + 1 KB` would pass MAX_RUN_BYTES (~3.59 MB), taking an event's JSON length for what
 * DynamoDB counts. Neither measure DynamoDB applies is the JSON length:
 * - the item size: a number is 1 byte per two significant digits plus 1, each list element 1 byte more, so
 *   `[1,1,1,...]` is 2 bytes per element in JSON and about 3 as an item (DynamoDB Local measured 13 such
 *   events of ~241 KB of JSON as "Payload Size: 4325136");
 * - the request on the wire: DynamoDB JSON writes each element as `{"N":"1"},` (10 bytes for JSON's 2), so
 *   14 such events are a ~17 MB HTTP body, over the 16 MB request limit: DynamoDB Local answers HTTP 413
 *   (the SDK's `UnknownError`, not a ValidationException).
 *
 * Interleaving A (14 events, HIGH): a peer appends 14 ordinary events of one aggregate, each a numeric
 * series of 120,000 ones (~241 KB of JSON, under maxEventBytes 256 KiB; ~330 KB as an item, under 400 KB:
 * each is accepted and applied alone by the per-event path). They reach the lane in one batch; `runsOf`
 * counts 14 x ~242 KB = 3.39 MB < MAX_RUN_BYTES: one run. The transaction is refused with a 413, which is
 * not a ValidationException, so `writeGroup` takes it for transient and reports all 14 failed; redelivered
 * together, they fail the same way until maxReceiveCount (5) moves ALL of them to the lane's dead letters.
 *
 * Interleaving B (13 events, MEDIUM): the body fits the wire but the items are 4.3 MB: a
 * ValidationException, so the group goes one by one down the per-event path with no metric, no log, no
 * outcome saying so (`runs` = 0, the report looks healthy). The byte cut does not do what it says, and the
 * same silent route is taken by ANY ValidationException, including one from a real bug in the batch path.
 *
 * Suggested fix: size a run as DynamoDB does (the marshalled item: attribute names + values, numbers by
 * significant digits, +1 per list/map element, +3 per collection), and bound the marshalled request body
 * too; treat any 4xx that is not throttling (413 included) as "this transaction can never succeed" for the
 * one-by-one fallback; count the fallback (a metric, and `runs`/an outcome flag) so a bug is visible.
 */
const series = defineAggregate<{ count: number }>({
  name: 'series',
  tier: 'ordinary',
  commands: { Record: z.strictObject({ points: z.array(z.number()).max(200_000) }) },
  events: { Recorded: { version: 1, schema: z.strictObject({ points: z.array(z.number()).max(200_000) }) } },
  initialState: () => ({ count: 0 }),
  decide: (command) => (command.type === 'Record' ? [{ type: 'Recorded', payload: command.payload }] : []),
  evolve: (state, event) => (event.type === 'Recorded' ? { count: state.count + 1 } : state),
});

const aggregates: AnyAggregate[] = [...testAggregates, series];
const topology = testTopology({
  aggregates: [
    { type: 'account', tier: 'core' },
    { type: 'profile', tier: 'important', conflict: 'lww' },
    { type: 'profile-rule', tier: 'important', conflict: 'rule' },
    { type: 'profile-manual', tier: 'important', conflict: 'manual' },
    { type: 'activity', tier: 'ordinary' },
    { type: 'series', tier: 'ordinary' },
  ],
});
const registry = createRegistry(aggregates, topology);

let origin: Cell;
beforeAll(async () => {
  origin = await makeCell('us-east-1', { topology, aggregates });
});

const message = (event: unknown, id: string): LaneRecord => ({
  id,
  body: JSON.stringify({ source: 'multiactive.replication', 'detail-type': 'x', detail: event }),
});

let seeded: Promise<{ id: string; events: EventEnvelope[] }> | undefined;

/**
 * The origin's 14 numeric-series events of one aggregate, written once for the file: a test of `count`
 * events takes the first `count` (seq 1..count, the log the origin had after its count-th write) into a
 * fresh target, so seeding them again per test would write the same log twice.
 */
function seriesLog(): Promise<{ id: string; events: EventEnvelope[] }> {
  seeded ??= (async () => {
    const id = `review2-series-${Date.now().toString(36)}`;
    const events: EventEnvelope[] = [];
    for (let i = 0; i < 14; i++)
      events.push(
        ...(
          await origin.execute({
            aggregateType: 'series',
            aggregateId: id,
            command: { type: 'Record', payload: { points: Array.from({ length: 120_000 }, () => 1) } },
          })
        ).events,
      );
    return { id, events };
  })();
  return seeded;
}

/** `count` numeric-series events of one aggregate, applied by the lane up to maxReceiveCount (5) times. */
async function seriesBatch(count: number) {
  const { id, events } = await seriesLog();
  const written = events.slice(0, count);
  expect(written.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  // The lane's own arithmetic: one run.
  expect(written.reduce((sum, e) => sum + jsonBytes(e) + 1024, 0)).toBeLessThan(MAX_RUN_BYTES);
  const target = await makeCell('eu-west-1', { topology, aggregates });
  const apply = createBatchApplier({
    region: target.region,
    topology,
    registry,
    clock: target.clock,
    events: target.events,
    states: target.states,
    watermarks: target.watermarks,
    parking: target.parking,
    quarantine: target.quarantine,
    conflicts: target.conflicts,
  });
  const records = written.map((e, i) => message(e, `m${i}`));
  let report = await apply(records);
  const firstRuns = report.runs;
  for (let receive = 2; receive <= 5 && report.failed.length > 0; receive++) report = await apply(records);
  return { report, firstRuns, version: (await target.states.getState('series', id))?.version };
}

describe('review 2 of i15-lane: a run the lane cuts is one DynamoDB can take', () => {
  it('applies 14 numeric-series events within maxReceiveCount deliveries (none to the dead letters)', async () => {
    const { report, version } = await seriesBatch(14);
    // Fails on i15-lane: all 14 records failed on each of the 5 deliveries (HTTP 413 taken for transient).
    expect(report.failed).toEqual([]);
    expect(version).toBe(14);
  }, 240_000);

  it('writes 13 numeric-series events with the batch path, not the silent per-event fallback', async () => {
    const { report, firstRuns, version } = await seriesBatch(13);
    expect(report.failed).toEqual([]);
    expect(version).toBe(13);
    // Fails on i15-lane: runs = 0, the transaction was refused as over 4 MB and the group went one by one,
    // with nothing in the report or the metrics saying so.
    expect(firstRuns).toBeGreaterThanOrEqual(1);
  }, 240_000);
});
