import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { reportHtml, reportMarkdown } from '../../../lib/ops/report/index.ts';
import { regionLossFigures } from '../../../lib/sandbox/demo/figures.ts';
import type { DemoReport } from '../../../lib/sandbox/demo/report.ts';
import { regionLossReport } from '../../../lib/sandbox/drill/region-loss.ts';
import type { Sandbox } from '../../../lib/sandbox/platform/sandbox.ts';

const t0 = Date.parse('2026-11-30T10:00:00Z');
const demo: DemoReport = {
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'],
  lost: 'ap-southeast-1',
  tally: { events: new Map(), refused: new Map(), successes: new Map() },
  lag: [],
  conflicts: { detected: 3, resolved: 2, manual: 1 },
  detectionMs: 1_100,
  rtoMs: 1_200,
  coreRtoMs: 4_200,
  failoverMachineMs: 1_120,
  atRisk: 2,
  recovered: 1,
  unrecovered: ['E2'],
  queuedOrphans: ['E2'],
  runbooks: [],
  executions: ['arn:aws:states:eu-west-1:111111111111:execution:multiactive-dev-Failover:sandbox-1'],
  phases: [
    { step: 3, text: 'killing ap-southeast-1', at: t0 },
    { step: 4, text: 'waiting for the GTM (detection)', at: t0 + 1_000 },
  ],
  killedAt: t0,
  check: { passed: true, verdict: 'PASS', diverged: [] } as unknown as DemoReport['check'],
};

/** Just what regionLossReport reads of a sandbox: its topology and one finished execution. */
const sandbox = {
  topology: bank.topology('dev'),
  describeExecution: (executionArn: string) => ({
    executionArn,
    name: 'sandbox-1',
    stateMachineArn: '',
    stateMachine: 'multiactive-dev-Failover',
    region: 'eu-west-1',
    status: 'SUCCEEDED',
    input: {},
    startDate: new Date(t0 + 1_100).toISOString(),
    stopDate: new Date(t0 + 2_220).toISOString(),
  }),
  executionHistory: () => [
    {
      id: 1,
      type: 'TaskStateEntered',
      timestamp: new Date(t0 + 1_100),
      stateEnteredEventDetails: { name: 'ConfirmRegionLost' },
    },
    {
      id: 2,
      type: 'TaskStateExited',
      timestamp: new Date(t0 + 1_500),
      stateExitedEventDetails: { name: 'ConfirmRegionLost' },
    },
  ],
} as unknown as Sandbox;

describe('region-loss drill report', () => {
  const report = regionLossReport(sandbox, demo, t0 - 5_000);

  it('states exactly the runbooks bench figures of the same run (one shared computation)', () => {
    expect(report.figures).toEqual(regionLossFigures(demo, sandbox.topology));
    expect(report.figures.find((f) => f.figure.startsWith('core RTO'))).toMatchObject({
      value: 4200,
      met: true,
    });
    // The queued core orphan is kept for an operator, not counted as lost.
    expect(report.events).toEqual({ atRisk: 2, recovered: 1, lost: 0, queuedForOperator: 1 });
  });

  it('measures RTO/RPO per tier against the declared objectives and reviews what to improve', () => {
    expect(report.objectives.map((o) => [o.tier, o.rtoSeconds, o.rpoSeconds, o.met])).toEqual([
      ['core', 4.2, 0, true],
      ['important', 1.2, 0, true],
      ['ordinary', 1.2, 0, true],
    ]);
    expect(report.wentWrong.some((w) => w.includes('Failover state machine execution'))).toBe(true);
    expect(report.toImprove.some((w) => w.includes('1 core orphans'))).toBe(true);
  });

  it('renders Markdown with the steps and a self-contained HTML page with the timeline chart', () => {
    const md = reportMarkdown(report);
    expect(md).toContain('### Failover in eu-west-1: SUCCEEDED');
    expect(md).toMatch(
      /\| ConfirmRegionLost \| 2026-11-30T10:00:01.100Z \| 2026-11-30T10:00:01.500Z \| 0.4 s \| succeeded \|/,
    );
    const html = reportHtml(report);
    expect(html).toContain('<canvas id="timeline"');
    expect(html).toContain('"label":"Failover · ConfirmRegionLost"');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });
});
