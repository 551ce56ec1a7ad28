import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCliApplication } from '../../../bin/cli/application.ts';
import { reportCommand } from '../../../bin/cli/report.ts';
import { runRunbook } from '../../../bin/cli/runbook.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { executionNameFor } from '../../../lib/ops/execution-name.ts';
import type { DrillReport } from '../../../lib/ops/report/index.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

// The commands read the application as the CLI loads it before an action (`--config`).
beforeAll(() => loadCliApplication(BANK_CONFIG));

// Step Functions mocked at the SDK boundary only: reports of deployed executions from their history, as
// GetExecutionHistory pages it (events/samples/sfn-failback-history.json has the shape AWS returns for a
// Lambda task on the function ARN: LambdaFunction* events, a retried Lambda.ServiceException).
const sfn = mockClient(SFNClient);
const sample = JSON.parse(
  readFileSync(new URL('../../../events/samples/sfn-failback-history.json', import.meta.url), 'utf8'),
) as { executionArn: string; stateMachineArn: string; events: Array<HistoryEvent & { timestamp: string }> };
const history: HistoryEvent[] = sample.events.map((e) => ({ ...e, timestamp: new Date(e.timestamp) }));
const { executionArn, stateMachineArn } = sample;
const PAGE = 7;
let dir: string;

/** GetExecutionHistory in pages of PAGE events, `nextToken` = the next offset (AWS's token is opaque). */
function serveHistory(events: HistoryEvent[]) {
  sfn.on(GetExecutionHistoryCommand).callsFake((request: { nextToken?: string; executionArn: string }) => {
    expect(request.executionArn).toBe(executionArn);
    const from = Number(request.nextToken ?? 0);
    const next = from + PAGE;
    return { events: events.slice(from, next), ...(next < events.length ? { nextToken: String(next) } : {}) };
  });
}

beforeEach(() => {
  sfn.reset();
  dir = mkdtempSync(join(tmpdir(), 'multiactive-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => sfn.restore());

const stepLine = (report: DrillReport) =>
  report.executions[0]!.steps.map((s) => `${s.name}:${s.status}:${s.endedAt! - s.startedAt}`);

describe('multiactive report <executionArn> --env prod (AWS, mocked SDK)', () => {
  it('reads every page of the history and writes the Markdown, JSON and HTML report with what the tasks reported', async () => {
    serveHistory(history);
    const { dir: written, report } = await reportCommand(executionArn, { env: 'prod', out: dir });
    const calls = sfn.commandCalls(GetExecutionHistoryCommand);
    expect(calls).toHaveLength(Math.ceil(history.length / PAGE));
    expect(calls.every((c) => c.args[0].input.includeExecutionData === true)).toBe(true);
    expect(await sfn.call(0).thisValue.config.region()).toBe('us-east-1');
    expect(written).toBe(dir);

    expect(report).toMatchObject({ env: 'prod', target: 'aws', title: 'Failback in us-east-1' });
    expect(report.executions[0]).toMatchObject({ runbook: 'Failback', status: 'SUCCEEDED', executionArn });
    // Durations from the history's timestamps: FindOrphans includes its failed first attempt and 2 s backoff.
    expect(stepLine(report)).toEqual([
      'CatchUp:succeeded:8166',
      'FindOrphans:succeeded:3833',
      'ReconcileImportant:succeeded:455',
      'QueueCoreOrphans:succeeded:947',
      'Undrain:succeeded:231',
    ]);
    expect(report.startedAt).toBe(Date.parse('2026-11-30T14:05:01.000Z'));
    expect(report.endedAt).toBe(history.at(-1)!.timestamp!.getTime());
    // 7 orphans: 5 merged, 1 adopted, 1 queued for an operator, none lost.
    expect(report.events).toEqual({ atRisk: 7, recovered: 6, lost: 0, queuedForOperator: 1 });
    expect(report.conflicts).toEqual({ detected: 1, resolved: 0, manual: 1 });
    expect(report.toImprove.join(' ')).toContain('1 core orphans wait in the manual conflict queue');

    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('# Failback in us-east-1');
    expect(md).toContain('| FindOrphans | 2026-11-30T14:05:09.'); // start of its first attempt
    expect(md).toContain('events at risk at failover: 7; recovered: 6; lost: 0');
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toEqual(report);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Failback · QueueCoreOrphans');
    expect(html).toContain('new Chart(');
  });

  it('names what went wrong in a failed execution: the step, its error and the execution outcome', async () => {
    // The same Failback, failing in QueueCoreOrphans (caught into FailbackFailed, as the machine does).
    const entered = history.findIndex((e) => e.stateEnteredEventDetails?.name === 'QueueCoreOrphans');
    const cut = history.findIndex((e, i) => i > entered && e.type === 'LambdaFunctionSucceeded');
    const at = history[cut]!.timestamp!;
    const failed: HistoryEvent[] = [
      ...history.slice(0, cut),
      {
        id: cut + 1,
        type: 'LambdaFunctionFailed',
        timestamp: at,
        lambdaFunctionFailedEventDetails: { error: 'QuorumUnavailableError', cause: '1 of 3 control tables' },
      },
      {
        id: cut + 2,
        type: 'TaskStateExited',
        timestamp: at,
        stateExitedEventDetails: { name: 'QueueCoreOrphans', output: '{}' },
      },
      {
        id: cut + 3,
        type: 'FailStateEntered',
        timestamp: at,
        stateEnteredEventDetails: { name: 'FailbackFailed' },
      },
      {
        id: cut + 4,
        type: 'ExecutionFailed',
        timestamp: at,
        executionFailedEventDetails: { error: 'FailbackFailed', cause: 'A failback task failed' },
      },
    ];
    serveHistory(failed);
    const { report } = await reportCommand(executionArn, { env: 'prod', out: dir });
    expect(report.executions[0]).toMatchObject({ status: 'FAILED', error: 'FailbackFailed' });
    expect(report.wentWrong).toEqual(
      expect.arrayContaining([
        'Failback in us-east-1 ended FAILED (FailbackFailed)',
        'Failback step QueueCoreOrphans failed: QuorumUnavailableError',
      ]),
    );
  });

  it('refuses an ARN that is not an execution, or one of another environment (usage, exit 2)', async () => {
    await expect(reportCommand(stateMachineArn, { env: 'prod', out: dir })).rejects.toThrow(
      /not a Step Functions execution ARN/,
    );
    await expect(reportCommand(executionArn, { env: 'dev', out: dir })).rejects.toThrow(
      /not a state machine of environment dev/,
    );
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('multiactive runbook failback us-east-1 --env prod --report DIR', () => {
  it('follows the deployed execution, then writes its report from the history it followed', async () => {
    const prod = bank.topology('prod');
    const now = new Date('2026-11-30T14:05:00Z');
    const name = executionNameFor('Failback', { region: 'us-east-1', switchBack: false }, now);
    const arn = executionArn.replace(/:[^:]+$/, `:${name}`);
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: now });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      stateMachineArn,
      name,
      status: 'SUCCEEDED',
      startDate: history[0]!.timestamp,
      stopDate: history.at(-1)!.timestamp,
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history });
    const outcome = await runRunbook('Failback', {
      env: 'prod',
      region: 'us-east-1',
      switchBack: false,
      report: dir,
      json: true,
      now,
      pollMs: 0,
    });
    expect(prod.name).toBe('prod');
    expect(outcome.report?.dir).toBe(dir);
    expect(outcome.report?.report.executions[0]?.executionArn).toBe(arn);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1); // the report reuses the followed history
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });
});
