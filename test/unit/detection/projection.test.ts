import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology } from '../../../lib/config/index.ts';
import { AWS_ASSUMPTIONS, projectRegionLossRto } from '../../../lib/detection/index.ts';

describe('the AWS-projected RTO of a region loss', () => {
  it('adds up the chain at the synthesized timings of dev and prod, within 60 s', () => {
    for (const env of ['dev', 'prod']) {
      const p = projectRegionLossRto({ topology: bank.topology(env), failoverExecutionMs: 1_100 });
      const term = (name: string) => p.terms.find((t) => t.term.startsWith(name))?.ms;
      // Detection: 10 s of heartbeat silence noticed at the next 5 s tick outlasts 2 probes 5 s apart + 2 s.
      expect(term('watchdog detection')).toBe(15_000);
      expect(term('Route 53 withdraws')).toBe(3 * 10_000 + AWS_ASSUMPTIONS.route53CheckTimeoutMs);
      expect(term('DNS TTL')).toBe(15_000);
      expect(p.serialBoundMs).toBe(
        ['watchdog detection', 'decision', 'Failover state machine', 'lease', 'DNS TTL']
          .map((t) => term(t) ?? Number.NaN)
          .reduce((a, b) => a + b, 0),
      );
      expect(p.coreRtoMs).toBeGreaterThanOrEqual(Math.max(p.serialBoundMs, p.dnsPathMs, p.serverPathMs));
      expect(p.coreRtoMs).toBeLessThanOrEqual(60_000);
    }
  });

  it('would miss 60 s with the usual 60 s DNS TTL', () => {
    const dev = bank.topology('dev');
    const withTtl = (ttlSeconds: number) =>
      projectRegionLossRto({
        topology: parseTopology({ ...dev, gtm: { ...dev.gtm, ttlSeconds } }),
        failoverExecutionMs: 1_100,
      });
    expect(withTtl(60).coreRtoMs).toBeGreaterThan(60_000);
  });
});
