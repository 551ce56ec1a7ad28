import { describe, expect, it } from 'vitest';
import {
  type AckedEvent,
  ackedEventsOf,
  atRiskPerRecord,
  unavailabilityWindow,
} from '../../../bench/acked-writes.ts';
import { encodeHlc } from '../../../lib/clock/index.ts';
import type { Tier } from '../../../lib/config/index.ts';

const tiers: Record<string, Tier> = { account: 'core', profile: 'important' };
const hlc = (wall: number, region: string) => encodeHlc({ wall, logical: 0, region });

function acked(eventId: string, wall: number, origin: string): AckedEvent {
  return {
    eventId,
    aggregateType: 'account',
    aggregateId: 'a',
    tier: 'core',
    origin,
    hlc: hlc(wall, origin),
    at: wall,
  };
}

describe('ackedEventsOf', () => {
  it('reads the events of a 200 command answer with tier and origin', () => {
    const events = ackedEventsOf({
      path: '/v1/account/acct%2D1/commands',
      status: 200,
      body: { events: [{ eventId: 'E1', hlc: hlc(1_000, 'eu-west-1'), seq: 1, type: 'Deposited' }] },
      at: 5,
      tierOf: (t) => tiers[t],
    });
    expect(events).toEqual([
      {
        eventId: 'E1',
        aggregateType: 'account',
        aggregateId: 'acct-1',
        tier: 'core',
        origin: 'eu-west-1',
        hlc: hlc(1_000, 'eu-west-1'),
        at: 5,
      },
    ]);
  });

  it('counts nothing for a refused write, another route or an unknown aggregate', () => {
    const body = { events: [{ eventId: 'E1', hlc: hlc(1, 'us-east-1') }] };
    expect(
      ackedEventsOf({ path: '/v1/account/a/commands', status: 503, body, at: 0, tierOf: (t) => tiers[t] }),
    ).toEqual([]);
    expect(
      ackedEventsOf({ path: '/v1/account/a', status: 200, body, at: 0, tierOf: (t) => tiers[t] }),
    ).toEqual([]);
    expect(
      ackedEventsOf({ path: '/v1/ghost/a/commands', status: 200, body, at: 0, tierOf: (t) => tiers[t] }),
    ).toEqual([]);
  });
});

describe('atRiskPerRecord', () => {
  const events = [
    acked('old', 100, 'ap-southeast-1'),
    acked('mid', 200, 'ap-southeast-1'),
    acked('new', 300, 'ap-southeast-1'),
    acked('elsewhere', 400, 'us-east-1'),
  ];
  const record = (watermarks: Record<string, string | null>) => ({
    region: 'ap-southeast-1',
    trigger: 'test',
    failedOverAt: 0,
    moves: [],
    watermarks,
  });

  it('keeps the lost region events past the lowest survivor watermark', () => {
    const got = atRiskPerRecord(
      events,
      record({ 'us-east-1': hlc(200, 'ap-southeast-1'), 'eu-west-1': hlc(100, 'ap-southeast-1') }),
    );
    expect(got.map((e) => e.eventId)).toEqual(['mid', 'new']);
  });

  it('puts every event of the lost region at risk when a survivor had applied nothing', () => {
    const got = atRiskPerRecord(
      events,
      record({ 'us-east-1': hlc(300, 'ap-southeast-1'), 'eu-west-1': null }),
    );
    expect(got.map((e) => e.eventId)).toEqual(['old', 'mid', 'new']);
  });
});

describe('unavailabilityWindow', () => {
  it('is the longest ack gap that overlaps the interval', () => {
    expect(unavailabilityWindow([0, 10, 20, 30, 400, 410, 1_000], 25, 350)).toBe(370);
  });

  it('ignores longer gaps outside the interval', () => {
    expect(unavailabilityWindow([0, 500, 510, 520, 600, 2_000], 505, 590)).toBe(80);
  });

  it('is infinite when no write was acknowledged after the interval, NaN with none before', () => {
    expect(unavailabilityWindow([0, 10], 5, 20)).toBe(Number.POSITIVE_INFINITY);
    expect(unavailabilityWindow([30, 40], 5, 20)).toBeNaN();
  });
});
