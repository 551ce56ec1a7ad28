import { describe, expect, it } from 'vitest';
import { replayLanes, replayOrder } from '../../../lib/repair/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

describe('replayLanes', () => {
  it('keeps each aggregate in one lane, in replay order, and loses nothing', () => {
    const events = Array.from({ length: 60 }, (_, i) =>
      sampleEnvelope({ aggregateId: `a-${i % 12}`, seq: 5 - Math.floor(i / 12) }),
    );
    const lanes = replayLanes(events, 4);
    expect(lanes.length).toBeLessThanOrEqual(4);
    expect(lanes.length).toBeGreaterThan(1);
    expect(lanes.flat()).toHaveLength(events.length);
    for (const lane of lanes) expect(lane).toEqual([...lane].sort(replayOrder));
    const laneOf = new Map<string, number>();
    lanes.forEach((lane, index) => {
      for (const event of lane) {
        expect(laneOf.get(event.aggregateId) ?? index).toBe(index);
        laneOf.set(event.aggregateId, index);
      }
    });
  });

  it('is a single ordered lane when asked for one', () => {
    const events = [sampleEnvelope({ seq: 2 }), sampleEnvelope({ seq: 1 })];
    expect(replayLanes(events, 1)).toEqual([[events[1], events[0]]]);
  });
});
