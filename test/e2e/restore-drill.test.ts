import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestoreDrillReport, runRestoreDrill } from '../../lib/sandbox/drill/restore.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';

const REGION = 'eu-west-1';
let sandbox: Sandbox;
let report: RestoreDrillReport;
const lines: string[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true });
  report = await runRestoreDrill(sandbox, { region: REGION, phaseMs: 1_500, log: (l) => lines.push(l) });
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

describe('restore drill: one region restored to a point in time, then repaired from its peers', () => {
  it('writes acknowledged events before and after T', () => {
    expect(report.acknowledged.beforeT).toBeGreaterThan(0);
    expect(report.acknowledged.afterT).toBeGreaterThan(0);
    expect(report.copiedItems.events).toBeGreaterThan(0);
  });

  it('takes from the restored region every event acknowledged after T, and only those', () => {
    // Every region had caught up before the copy and before the restore: the restore removes exactly the
    // events written after T.
    expect(report.afterTLost).toBe(report.acknowledged.afterT);
    expect(report.lostByRestore).toBe(report.acknowledged.afterT);
  });

  it('fails the consistency check between the restore and Repair (the check sees the loss)', () => {
    expect(report.checkBeforeRepair.passed).toBe(false);
    expect(report.checkBeforeRepair.missingEvents).toBeGreaterThanOrEqual(report.lostByRestore);
  });

  it('brings the lost events back with the Repair runbook; every region converges, no acknowledged write lost', () => {
    expect(report.repairStatus).toBe('SUCCEEDED');
    expect(report.repaired).toBeGreaterThanOrEqual(report.lostByRestore);
    expect(report.stillMissing).toBe(0);
    expect(report.acknowledgedLost).toBe(0);
    expect(report.check.verdict).toMatch(/^PASS/);
    expect(report.passed, lines.join('\n')).toBe(true);
    expect(report.phases.map((p) => p.name)).toHaveLength(9);
    expect(lines.filter((l) => /^\[\d\/9\] /.test(l))).toHaveLength(9);
  });

  it('reopens the region to writes only after a verifying Repair pass found nothing lacking; those writes are kept everywhere', () => {
    expect(report.refused).toBe(0);
    expect(report.verified).toBe(true);
    expect(report.verifyingPasses).toBeGreaterThanOrEqual(1);
    const verifying = report.phases.findIndex((p) => p.name.startsWith('verifying Repair passes'));
    const reopened = report.phases.findIndex((p) => p.name.startsWith('writes again'));
    expect(verifying).toBeGreaterThan(0);
    expect(reopened).toBe(verifying + 1);
    expect(report.writesAfterRepair).toBeGreaterThan(0);
    expect(report.acknowledgedLost).toBe(0);
  });
});
