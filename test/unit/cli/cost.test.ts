import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../e2e/cli.ts';

describe('multiactive cost and capacity', () => {
  it('takes the traffic from flags over the default profile and gives the same report as JSON', async () => {
    const { code, out } = await runCli(['cost', '--env', 'dev', '--writes', 'account=40', '--json'], ROOT);
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      profile: {
        name: string;
        aggregates: Record<string, { writesPerSecond: number; readsPerSecond: number }>;
      };
      cost: { total: number; lines: Array<{ usd: number }> };
      options: Array<{ option: string; total: number }>;
      prices: { asOf: string };
    };
    expect(report.profile.name).toBe('default with flags');
    expect(report.profile.aggregates.account).toMatchObject({ writesPerSecond: 40, readsPerSecond: 100 });
    expect(report.cost.total).toBeCloseTo(
      report.cost.lines.reduce((n, l) => n + l.usd, 0),
      3,
    );
    expect(report.options).toHaveLength(5);
    expect(report.prices.asOf).toBe('2026-01-15');
  }, 90_000);

  it('refuses an unknown aggregate type or a malformed rate in one line, exit 2', async () => {
    const unknown = await runCli(['cost', '--env', 'prod', '--writes', 'invoice=3'], ROOT);
    expect(unknown.out.trim()).toBe(
      'multiactive: the traffic flags: aggregates.invoice: no aggregate type "invoice" in prod',
    );
    expect(unknown.code).toBe(2);
    const malformed = await runCli(['capacity', '--env', 'prod', '--writes', 'account'], ROOT);
    expect(malformed.out).toContain('--writes is NAME=NUMBER');
    expect(malformed.code).toBe(2);
  }, 90_000);

  it('names the first limit per region', async () => {
    const { code, out } = await runCli(['capacity', '--env', 'prod', '--json'], ROOT);
    expect(code).toBe(0);
    const regions = JSON.parse(out) as Array<{
      region: string;
      first: { id: string; writesPerSecond: number };
    }>;
    expect(regions.map((r) => r.region)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
    for (const r of regions) expect(r.first.writesPerSecond).toBeGreaterThan(0);
  }, 90_000);
});
