import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { UsageError } from '../../lib/ops/errors.ts';
import type { ExecutionPort } from '../../lib/ops/ports.ts';
import { type DrillReport, executionReport, writeReport } from '../../lib/ops/report/index.ts';
import { cliTopology } from './application.ts';
import { awsExecutions, sfnClients } from './aws-target.ts';
import { callSandbox } from './sandbox-target.ts';

/** Where an AWS execution's report goes without `--out` / a `--report` folder. */
export const AWS_REPORTS_DIR = 'reports';

/** The parts of `arn:aws:states:<region>:<account>:execution:<machine>:<name>`, or a usage error. */
export function parseExecutionArn(arn: string): { region: string; machine: string; name: string } {
  const parts = arn.split(':');
  if (parts.length !== 8 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== 'execution')
    throw new UsageError(
      `not a Step Functions execution ARN: ${arn} (arn:aws:states:<region>:<account>:execution:<machine>:<name>)`,
    );
  return { region: parts[3]!, machine: parts[6]!, name: parts[7]! };
}

/**
 * The report of a deployed execution: its history read page by page (GetExecutionHistory with
 * `nextToken`), rendered by the report module the sandbox uses.
 */
export async function awsExecutionReport(input: {
  readonly env: string;
  readonly executionArn: string;
  readonly port: ExecutionPort;
  readonly history?: readonly HistoryEvent[];
}): Promise<DrillReport> {
  const { region, machine } = parseExecutionArn(input.executionArn);
  const prefix = `multiactive-${input.env}-`;
  if (!machine.startsWith(prefix))
    throw new UsageError(
      `${machine} is not a state machine of environment ${input.env} (${prefix}<Runbook>)`,
    );
  return executionReport({
    executionArn: input.executionArn,
    runbook: machine.slice(prefix.length),
    region,
    env: input.env,
    target: 'aws',
    history: input.history ?? (await input.port.history(input.executionArn)),
  });
}

/** Where a report was written: the folder, and the report itself. */
export interface WrittenReport {
  readonly dir: string;
  readonly report: DrillReport;
}

/**
 * `multiactive report <executionArn>`: with `--env`, from Step Functions (written under `--out`, default
 * `reports/<id>`); without, the sandbox that is up writes it beside its drills (the console lists it),
 * and `--out` writes a copy here too.
 */
export async function reportCommand(
  executionArn: string,
  options: {
    env?: string | undefined;
    out?: string | undefined;
    port?: ExecutionPort;
    /** The whole history when the caller has it already (`runbook --report` after following). */
    history?: readonly HistoryEvent[];
  },
): Promise<WrittenReport> {
  parseExecutionArn(executionArn);
  if (options.env) {
    const port = options.port ?? awsExecutions(cliTopology(options.env), sfnClients());
    const report = await awsExecutionReport({
      env: options.env,
      executionArn,
      port,
      ...(options.history ? { history: options.history } : {}),
    });
    const dir = options.out ?? join(AWS_REPORTS_DIR, report.id);
    writeReport(report, dir);
    return { dir, report };
  }
  const report = await callSandbox<DrillReport>({ action: 'execution-report', executionArn });
  const dir = options.out ?? join('.sandbox', 'reports', report.id);
  if (options.out) writeReport(report, options.out);
  return { dir, report };
}
