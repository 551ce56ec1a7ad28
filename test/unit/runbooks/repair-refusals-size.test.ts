import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { RefusedEvent } from '../../../lib/runbooks/direct-delivery.ts';
import { REPAIR_MAX_ITEMS, refusalsOfItem } from '../../../lib/runbooks/repair-tasks.ts';

/**
 * Every Map item's output lands in one Step Functions state ($.repairPartitions), at most 256 KiB with the
 * rest of the execution's state. The worst case: each of REPAIR_MAX_ITEMS items refused many events with
 * long aggregate ids, reasons and messages (a poison reason's validation text).
 */
const STATE_BYTES = 256 * 1024;
/**
 * What the item outputs may take of the state: ListPartitions' REPAIR_MAX_ITEMS range items (about 94 bytes
 * each, 48 KB) and the run's input and counts take the rest, with a margin.
 */
const ITEMS_BUDGET = STATE_BYTES - 48 * 1024 - 8 * 1024;

function refusals(item: number): RefusedEvent[] {
  return Array.from({ length: 25 }, (_, i) => ({
    region: 'ap-southeast-1',
    eventId: `01J${String(item).padStart(6, '0')}${String(i).padStart(17, '0')}`,
    aggregate: `account#${'a'.repeat(200)}`,
    seq: 1_000_000 + i,
    reason: i % 2 === 0 ? `InvalidPayload-${'x'.repeat(60)}` : `not-chained-${'x'.repeat(60)}`,
    message: `payload does not match the schema: ${'y'.repeat(500)}`,
  }));
}

/** One Map item's output at its largest (a group of 128 partitions), refusals as listed. */
function itemOutputs(): string {
  const outputs = Array.from({ length: REPAIR_MAX_ITEMS }, (_, item) => ({
    partition: 65_535 - item,
    partitions: 128,
    partitionsDiffering: 128,
    buckets: 4_096,
    replayed: 1_000_000,
    forksSettled: 10_000,
    queued: 10_000,
    rowsRebuilt: 10_000,
    ...refusalsOfItem(refusals(item)),
  }));
  return JSON.stringify(outputs);
}

describe("Repair's Map item outputs of refusals", () => {
  it('stay within the state budget when every item refused many long events (exact counts kept)', () => {
    const json = itemOutputs();
    const parsed = JSON.parse(json) as Array<{
      refused: number;
      refusedEvents: unknown[];
      refusedReasons: string[];
    }>;
    expect(Buffer.byteLength(json)).toBeLessThan(ITEMS_BUDGET);
    expect(parsed[0]!.refused).toBe(25);
    expect(parsed[0]!.refusedEvents).toHaveLength(1);
    expect(parsed[0]!.refusedReasons).toHaveLength(1); // the reason besides the listed event's
  });

  it('lists nothing for an item without refusals', () => {
    expect(refusalsOfItem([])).toEqual({ refused: 0 });
  });

  it('with repair-lists-ten-refusals-per-item, the item outputs alone pass 256 KiB', () => {
    const json = withBug('repair-lists-ten-refusals-per-item', async () => itemOutputs());
    return expect(json.then((j) => Buffer.byteLength(j))).resolves.toBeGreaterThan(STATE_BYTES);
  });
});
