import { describe, expect, it } from 'vitest';
import { loadApplication } from '../../lib/app/index.ts';
import { runChaos } from '../../lib/sandbox/chaos/index.ts';
import { runCli } from './cli.ts';

const CONFIG = 'examples/social/multiactive.config.ts';
const social = await loadApplication(CONFIG);
const figure = (report: Awaited<ReturnType<typeof runChaos>>, name: string) =>
  report.figures.find((f) => f.figure.startsWith(name))?.value;

// One file, so that no two sandboxes (three DynamoDB Local JVMs each) run at once on two cores.
describe('the second example: a social app (important and ordinary tiers only)', () => {
  it('runs the sandbox demo with --config: users register, post, edit and react; a region is lost and returns', async () => {
    const { code, out } = await runCli(['start', '--once', '--fast', '--config', CONFIG]);
    if (code !== 0) console.error(out);
    expect(out).toContain('(user: important, post: important, reactions: ordinary)');
    expect(out).toContain('killing ap-southeast-1');
    expect(out).toMatch(/events written\s+core\s+important\s+ordinary\s+total/);
    // Writes of both tiers landed, and no core write was sent (the application has none).
    expect(out).toMatch(/us-east-1\s+0\s+[1-9]\d*\s+[1-9]\d*\s+/);
    expect(out).toMatch(/failover \(ap-southeast-1 lost\): detection \d+ ms, RTO \d+ ms/);
    expect(out).toContain('consistency check: PASS');
    expect(out).toMatch(/IAM: \d+ calls checked, 0 denied/);
    expect(code).toBe(0);
  }, 480_000);

  it('runs the chaos runner with its own workload and checker, which finds no anomaly', async () => {
    const report = await runChaos({ seconds: 20, seed: 1, application: social });
    if (!report.passed) console.error(JSON.stringify(report.anomalies.slice(0, 10), null, 2));
    expect(report).toMatchObject({ application: 'social', workload: 'social', env: 'dev', bugs: [] });
    expect(report.iam?.denials).toEqual([]);
    expect(report.faults.length).toBeGreaterThan(1);
    expect(figure(report, 'social: aggregates checked')).toBe(18);
    // The checkers had writes of both kinds to check; how many depends on the machine (a quiet one: more than
    // 20 of each in 20 s; CI's slow one, beside another file: 8 post edits).
    expect(figure(report, 'social: post edits acknowledged')).toBeGreaterThan(0);
    expect(figure(report, 'social: reactions acknowledged')).toBeGreaterThan(0);
    expect(report.anomalies).toEqual([]);
  }, 600_000);

  it('fails when a replica folds replicated edits in arrival order (bug switch fold-on-arrival)', async () => {
    const report = await runChaos({ seconds: 10, seed: 2, application: social, bugs: ['fold-on-arrival'] });
    expect(report.bugs).toEqual(['fold-on-arrival']);
    const found = report.anomalies.filter((a) => a.checker === 'social').map((a) => a.kind);
    if (!found.includes('lww-wrong-winner'))
      console.error(JSON.stringify(report.anomalies.slice(0, 10), null, 2));
    expect(report.passed).toBe(false);
    expect(found).toContain('lww-wrong-winner');
  }, 600_000);
});
