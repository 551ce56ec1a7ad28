import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../lib/ops/report/index.ts';
import { startControlServer } from '../../lib/sandbox/control/server.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { READINESS_OPERATIONS } from '../support/readiness.ts';

// Readiness on the schedule the template declares (rate(1 minute), scaled by --fast's awsTimeScale to
// 6 s), published as the Readiness metric that the template's alarm watches (3 periods of 6 s).
const A = 'us-east-1';
const B = 'eu-west-1';
const READINESS = {
  namespace: 'multiactive',
  name: 'Readiness',
  dimensions: { service: 'multiactive-readiness' },
};

let sandbox: Sandbox;
let control: { server: Server; url: string };
const reportsDir = mkdtempSync(join(tmpdir(), 'multiactive-reports-'));

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true, regions: 2 });
  control = await startControlServer(sandbox, () => {}, { reportsDir });
}, 360_000);

afterAll(async () => {
  control?.server.close();
  await sandbox?.stop();
}, 60_000);

/** Polls `read` until `ok` (the scheduled runs and the alarm periods are timers, not events to await). */
async function until<T>(what: string, read: () => T, ok: (value: T) => boolean, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = read();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 500));
    value = read();
  }
  return value;
}

const readinessOf = (region: string) => sandbox.scheduledReadiness().find((r) => r.region === region)!;
const lastValues = (region: string, ms: number) =>
  sandbox.metrics.values({ ...READINESS, region }, Date.now() - ms, Date.now() + 1);

async function post<T>(request: unknown): Promise<T> {
  const response = await fetch(control.url, { method: 'POST', body: JSON.stringify(request) });
  return (await response.json()) as T;
}

describe('readiness on a schedule in the sandbox (two regions, fast timers)', () => {
  it('runs each region readiness function from its template schedule as its role: Readiness 1, alarm OK', async () => {
    for (const region of [A, B]) {
      const readiness = await until(
        `${region} ready with its alarm OK`,
        () => readinessOf(region),
        (r) => r.ready === true && r.alarm === 'OK',
      );
      expect(readiness.failing).toEqual([]);
      expect(lastValues(region, 20_000)).toContain(1);
    }
    // Every call the AWS evaluation makes was authorized as the readiness role, and none refused.
    const rows = sandbox.iam.usageRows().filter((r) => r.caller === `${A}/readiness`);
    expect(new Set(rows.map((r) => r.operation))).toEqual(new Set(READINESS_OPERATIONS));
    expect(rows.every((r) => r.denied === 0)).toBe(true);
    // `status` and the console read it per region.
    const status = await post<{
      regions: Array<{ region: string; readiness?: { ready: boolean; alarm: string } }>;
    }>({
      action: 'status',
    });
    expect(status.regions.map((r) => [r.region, r.readiness?.ready, r.readiness?.alarm])).toEqual([
      [A, true, 'OK'],
      [B, true, 'OK'],
    ]);
  }, 240_000);

  it('writes the report of a sandbox execution from its history, as for AWS', async () => {
    const { executionArn } = sandbox.startExecution(A, 'Repair', {}, 'report-e2e');
    await until(
      'Repair ended',
      () => sandbox.describeExecution(executionArn).status,
      (s) => s !== 'RUNNING',
    );
    const report = await post<DrillReport>({ action: 'execution-report', executionArn });
    expect(report).toMatchObject({ target: 'sandbox', title: `Repair in ${A}` });
    expect(report.executions[0]!.steps.map((s) => s.name)).toEqual([
      'ListPartitions',
      'RepairPartitions',
      'Report',
    ]);
    expect(report.figures.find((f) => f.figure === 'partitions failed')).toMatchObject({
      value: 0,
      met: true,
    });
    expect(JSON.parse(readFileSync(join(reportsDir, report.id, 'report.json'), 'utf8'))).toEqual(report);
  }, 120_000);

  it('a region killed: the survivor publishes Readiness 0 naming the reasons, and its alarm goes to ALARM', async () => {
    await sandbox.killRegion(B);
    const survivor = await until(
      `${A}'s readiness alarm in ALARM`,
      () => readinessOf(A),
      (r) => r.alarm === 'ALARM',
    );
    expect(survivor.ready).toBe(false);
    expect(survivor.failing).toEqual(expect.arrayContaining(['versions', 'health', 'quorum']));
    expect(lastValues(A, 12_000)).not.toContain(1);
    expect(
      sandbox
        .alarmChanges()
        .filter((c) => c.alarm.region === A && c.alarm.name === 'multiactive-dev-readiness')
        .map((c) => c.state),
    ).toEqual(expect.arrayContaining(['OK', 'ALARM']));
  }, 240_000);
});
