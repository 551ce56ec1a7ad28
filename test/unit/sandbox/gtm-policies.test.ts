import { describe, expect, it } from 'vitest';
import { GtmConfigError } from '../../../lib/sandbox/gtm/errors.ts';
import {
  candidateRegions,
  chooseByLatency,
  chooseByWeight,
  chooseLeastConnections,
  chooseRoundRobin,
} from '../../../lib/sandbox/gtm/policies.ts';
import { Router } from '../../../lib/sandbox/gtm/router.ts';
import { defaultRttMs } from '../../../lib/sandbox/wan/latency.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

describe('candidateRegions', () => {
  it('keeps only healthy regions, in order', () => {
    expect(candidateRegions(REGIONS, (r) => r !== 'eu-west-1')).toEqual(['us-east-1', 'ap-southeast-1']);
  });

  it('treats every region as healthy when none is (Route 53 fail-open)', () => {
    expect(candidateRegions(REGIONS, () => false)).toEqual(REGIONS);
  });

  it('refuses an empty region list', () => {
    expect(() => candidateRegions([], () => true)).toThrow(GtmConfigError);
  });
});

describe('chooseByLatency', () => {
  it('picks the region closest to the client', () => {
    expect(chooseByLatency({ candidates: REGIONS, from: 'eu-west-1', latency: defaultRttMs })).toBe(
      'eu-west-1',
    );
    expect(
      chooseByLatency({
        candidates: ['us-east-1', 'ap-southeast-1'],
        from: 'eu-west-1',
        latency: defaultRttMs,
      }),
    ).toBe('us-east-1');
    expect(
      chooseByLatency({
        candidates: ['us-east-1', 'ap-southeast-1'],
        from: 'ap-southeast-1',
        latency: defaultRttMs,
      }),
    ).toBe('ap-southeast-1');
  });

  it('falls back when the client location is unknown', () => {
    expect(
      chooseByLatency({ candidates: REGIONS, from: undefined, latency: defaultRttMs, fallback: 'eu-west-1' }),
    ).toBe('eu-west-1');
    expect(chooseByLatency({ candidates: REGIONS, from: undefined, latency: defaultRttMs })).toBe(
      'us-east-1',
    );
    // An unhealthy fallback is not a candidate.
    expect(
      chooseByLatency({
        candidates: ['ap-southeast-1'],
        from: undefined,
        latency: defaultRttMs,
        fallback: 'eu-west-1',
      }),
    ).toBe('ap-southeast-1');
  });
});

describe('chooseByWeight', () => {
  it('splits traffic in proportion to the weights', () => {
    let seed = 0;
    const random = () => {
      seed = (seed * 9301 + 49297) % 233280;
      return seed / 233280;
    };
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const r = chooseByWeight({
        candidates: REGIONS,
        weights: { 'us-east-1': 3, 'eu-west-1': 1, 'ap-southeast-1': 0 },
        random,
      });
      counts[r] = (counts[r] ?? 0) + 1;
    }
    expect(counts['ap-southeast-1']).toBeUndefined();
    expect((counts['us-east-1'] ?? 0) / 4000).toBeCloseTo(0.75, 1);
  });

  it('maps the random draw onto cumulative weights', () => {
    const weights = { a: 1, b: 3 };
    expect(chooseByWeight({ candidates: ['a', 'b'], weights, random: () => 0.2 })).toBe('a');
    expect(chooseByWeight({ candidates: ['a', 'b'], weights, random: () => 0.3 })).toBe('b');
    expect(chooseByWeight({ candidates: ['a', 'b'], weights: {}, random: () => 0.99 })).toBe('b');
  });
});

describe('round-robin and least-connections', () => {
  it('cycles through the candidates', () => {
    expect([0, 1, 2, 3].map((turn) => chooseRoundRobin(REGIONS, turn))).toEqual([...REGIONS, 'us-east-1']);
  });

  it('picks the region with the fewest requests in flight', () => {
    const inFlight = new Map([
      ['us-east-1', 2],
      ['eu-west-1', 1],
      ['ap-southeast-1', 1],
    ]);
    expect(chooseLeastConnections(REGIONS, inFlight)).toBe('eu-west-1');
  });
});

describe('Router', () => {
  it('routes only to healthy regions and reacts to health changes', () => {
    const down = new Set(['us-east-1']);
    const router = new Router({ regions: REGIONS, policy: 'round-robin', isHealthy: (r) => !down.has(r) });
    expect([router.route(), router.route(), router.route()]).toEqual([
      'eu-west-1',
      'ap-southeast-1',
      'eu-west-1',
    ]);
    down.clear();
    expect(REGIONS).toContain(router.route());
  });

  it('tracks in-flight requests for least-connections', () => {
    const router = new Router({ regions: REGIONS, policy: 'least-connections' });
    const endA = router.begin(router.route());
    expect(router.route()).toBe('eu-west-1');
    const endB = router.begin('eu-west-1');
    expect(router.route()).toBe('ap-southeast-1');
    endA();
    endA();
    expect(router.connections()).toEqual({ 'us-east-1': 0, 'eu-west-1': 1, 'ap-southeast-1': 0 });
    endB();
    expect(router.route()).toBe('us-east-1');
  });

  it('uses the client region for latency routing', () => {
    const router = new Router({ regions: REGIONS, policy: 'latency', fallbackRegion: 'eu-west-1' });
    expect(router.route({ from: 'ap-southeast-1' })).toBe('ap-southeast-1');
    expect(router.route({})).toBe('eu-west-1');
  });

  it('rejects an unknown policy', () => {
    expect(() => new Router({ regions: REGIONS, policy: 'random' as never })).toThrow(GtmConfigError);
  });
});
