import { beforeAll, describe, expect, it } from 'vitest';
import { decodeHlc } from '../../../lib/clock/hlc.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import {
  type ApplyReplicatedBatch,
  createBatchApplier,
  type LaneRecord,
  WatermarkStore,
} from '../../../lib/replication/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from './cells.ts';

/**
 * Review of i15-lane (adversarial): the watermarks the lane group-commits, on DynamoDB Local.
 */
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);

let origin: Cell;

beforeAll(async () => {
  origin = await makeCell('us-east-1');
});

function batchApplierOf(
  cell: Cell,
  parts: { events?: EventStore; watermarks?: WatermarkStore; now?: () => Date } = {},
): ApplyReplicatedBatch {
  return createBatchApplier({
    ...(parts.now ? { now: parts.now } : {}),
    region: cell.region,
    topology,
    registry,
    clock: cell.clock,
    events: parts.events ?? cell.events,
    states: cell.states,
    watermarks: parts.watermarks ?? cell.watermarks,
    parking: cell.parking,
    quarantine: cell.quarantine,
    conflicts: cell.conflicts,
  });
}

const message = (event: EventEnvelope, id: string): LaneRecord => ({
  id,
  body: JSON.stringify({ source: 'multiactive.replication', 'detail-type': event.type, detail: event }),
});

async function entry(aggregateId: string, text: string): Promise<EventEnvelope> {
  const result = await origin.execute({
    aggregateType: 'activity',
    aggregateId,
    command: { type: 'AppendEntry', payload: { kind: 'k', message: text } },
  });
  return result.events[0]!;
}

describe('review of i15-lane: watermarks of a batch', () => {
  /**
   * Interleaving: one batch holds E1 (aggregate A, origin us-east-1, older HLC) and E2 (aggregate B, same
   * origin, newer HLC). A's transaction fails for a transient reason (throttled), so E1 is reported in
   * batchItemFailures and waits out the 360 s visibility timeout (up to five receives, i.e. ~30 min, before
   * the lane's dead letters take it). B is applied, and the group commit moves us-east-1's watermark to
   * E2's HLC: it now claims "applied up to E2" while E1, older and of the same origin, is not applied (and
   * may never be, once dead-lettered). `Watermark.hlc` promises lag and the RPO window "never look better
   * than they are"; the failover record's watermarks (the RPO window bench/acked-writes.ts counts) would
   * leave E1 out of what is at risk. The batch knows E1 failed: it can hold the origin's advance below it.
   */
  it("does not advance an origin's watermark past an event of that origin the batch reported failed", () =>
    failedBelowApplied());

  it('is caught when the group commit ignores the failed records (bug switch lane-watermark-past-failed)', async () => {
    await expect(withBug('lane-watermark-past-failed', failedBelowApplied)).rejects.toThrow();
  });

  async function failedBelowApplied(): Promise<void> {
    const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const e1 = await entry(`wm-a-${run}`, 'older');
    const e2 = await entry(`wm-b-${run}`, 'newer');
    expect(e1.hlc < e2.hlc).toBe(true);
    const target = await makeCell('eu-west-1');
    const throttling = () =>
      Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
        name: 'ThrottlingException',
      });
    /**
     * The events table throttles aggregate A's writes during the batch (a transient failure): its own
     * transaction, and a packed one it shares with other aggregates (which then go again on their own).
     */
    class ThrottledStore extends EventStore {
      override async appendEvents(
        batch: readonly EventEnvelope[],
        options: Parameters<EventStore['appendEvents']>[1],
      ) {
        if (batch.some((e) => e.aggregateId === e1.aggregateId)) throw throttling();
        return super.appendEvents(batch, options);
      }
      override async commitGrouped(items: Parameters<EventStore['commitGrouped']>[0]) {
        if (JSON.stringify(items).includes(e1.aggregateId)) throw throttling();
        return super.commitGrouped(items);
      }
    }
    const events = new EventStore({
      client: target.db.doc,
      tableName: target.db.tables.events,
      coreMarkerTableName: target.db.tables.replication,
    });
    Object.setPrototypeOf(events, ThrottledStore.prototype);
    const report = await batchApplierOf(target, { events })([message(e1, 'm1'), message(e2, 'm2')]);
    expect(report.failed).toEqual(['m1']);
    expect(await target.events.loadStream('activity', e1.aggregateId)).toHaveLength(0);
    const mark = await target.watermarks.watermarkFor('us-east-1');
    // E1 is not applied: the watermark must stay below it.
    expect(mark === undefined || mark.hlc < e1.hlc).toBe(true);
  }

  /**
   * The window is a wait by design, not replication lag: an event that reached the lane 100 ms after it
   * was written and was applied when a 5 s window ran out must not stamp the watermark 6 s late, or the
   * delivery delay the sync breakers read (appliedAt - wall) passes degradeLagMs (5 s) on a healthy peer
   * whose heartbeat the lane's event happened to be newer than.
   */
  it("stamps the watermark with the event's arrival in the lane, not the end of the batching window", () =>
    arrivalStamped());

  it('is caught when the group commit stamps the end of the window (bug switch lane-lag-counts-window)', async () => {
    await expect(withBug('lane-lag-counts-window', arrivalStamped)).rejects.toThrow();
  });

  async function arrivalStamped(): Promise<void> {
    const e = await entry(`wm-w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`, 'x');
    const wall = decodeHlc(e.hlc).wall;
    const target = await makeCell('eu-west-1');
    const apply = batchApplierOf(target, { now: () => new Date(wall + 6_000) });
    const report = await apply([{ ...message(e, 'm1'), receivedAt: new Date(wall + 100) }]);
    expect(report.failed).toEqual([]);
    const mark = await target.watermarks.watermarkFor('us-east-1');
    expect(mark?.hlc).toBe(e.hlc);
    expect(Date.parse(mark!.appliedAt) - wall).toBe(100);
  }

  /**
   * Interleaving: a batch is applied but its watermark write fails (throttled). `commitWatermarks` reports
   * every record of that origin failed, its comment saying "delivered again, they are duplicates that
   * advance it". Delivered again, they ARE duplicates, but a duplicate never reaches `batch.applied`, so the
   * watermark does not move: the records were redelivered for nothing and the watermark stays behind (lag
   * reads high) until some later event or heartbeat of the origin. Harmless for safety (it errs low), but
   * the retry the code pays for does not do what it says.
   */
  it('advances the watermark when the records it failed for are delivered again', async () => {
    const run = Date.now().toString(36);
    const e = await entry(`wm-c-${run}`, 'only');
    const target = await makeCell('eu-west-1');
    let failures = 1;
    class FlakyWatermarks extends WatermarkStore {
      override advance(originName: string, hlc: string, appliedAt: Date): Promise<boolean> {
        if (failures-- > 0)
          return Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
        return super.advance(originName, hlc, appliedAt);
      }
    }
    const watermarks = new FlakyWatermarks({
      client: target.db.doc,
      tableName: target.db.tables.replication,
    });
    const apply = batchApplierOf(target, { watermarks });
    const first = await apply([message(e, 'm1')]);
    expect(first.failed).toEqual(['m1']);
    const second = await apply([message(e, 'm1')]);
    expect(second.failed).toEqual([]);
    expect((await target.watermarks.watermarkFor('us-east-1'))?.hlc).toBe(e.hlc);
  });
});
