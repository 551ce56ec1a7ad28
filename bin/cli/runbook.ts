import { createInterface } from 'node:readline/promises';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/ops/errors.ts';
import { executionNameFor, isValidExecutionName } from '../../lib/ops/execution-name.ts';
import { type ExecutionProgress, followExecution } from '../../lib/ops/follow.ts';
import type { MapView } from '../../lib/ops/partition-view.ts';
import { planOf, type RunbookPlan } from '../../lib/ops/plan.ts';
import type { ExecutionPort, Runbook } from '../../lib/ops/ports.ts';
import { buildRunbookRequest, type RunbookOptions } from '../../lib/ops/runbook-requests.ts';
import { cliTopology } from './application.ts';
import { awsExecutions, sfnClients } from './aws-target.ts';
import { stepRenderer } from './progress.ts';
import { reportCommand, type WrittenReport } from './report.ts';
import { callSandbox, sandboxExecutions, upSandbox } from './sandbox-target.ts';

/** Flags every `runbook <name>` takes besides its own. */
export interface RunbookFlags extends RunbookOptions {
  readonly env?: string;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly executionName?: string;
  /** `--report [dir]`: true writes to the default folder. */
  readonly report?: boolean | string;
  readonly json?: boolean;
  /** Injected by tests: the AWS port and the prompt. */
  readonly port?: ExecutionPort;
  readonly confirm?: (question: string) => Promise<boolean>;
  readonly now?: Date;
  readonly pollMs?: number;
}

interface Target {
  readonly port: ExecutionPort;
  readonly regions: string[];
  readonly topology: Topology | undefined;
  readonly map: () => Promise<MapView | undefined>;
}

function target(flags: RunbookFlags): Target {
  if (flags.env) {
    const topology = cliTopology(flags.env);
    return {
      port: flags.port ?? awsExecutions(topology, sfnClients()),
      regions: regionNames(topology),
      topology,
      map: async () => undefined,
    };
  }
  const state = upSandbox();
  return {
    port: flags.port ?? sandboxExecutions,
    regions: Object.keys(state.regions),
    topology: undefined,
    map: () => callSandbox<MapView>({ action: 'map' }),
  };
}

async function ask(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** The plan as lines (dry run, and before a confirmation). */
export function formatPlan(plan: RunbookPlan): string[] {
  return [
    `plan: ${plan.runbook} in ${plan.runsIn}, input ${JSON.stringify(plan.input)}`,
    ...plan.moves.map(
      (m) =>
        `  move ${m.partitions.length ? `partitions ${m.partitions.join(', ')}` : 'partitions decided at run time'}: ${m.from} -> ${m.to ?? 'nearest healthy region'}`,
    ),
    ...Object.entries(plan.unavailability).map(([tier, text]) => `  ${tier.padEnd(9)} unavailable: ${text}`),
  ];
}

/** The outcome printed at the end (and the exit code: 0 when SUCCEEDED). */
export interface RunbookOutcome {
  readonly plan: RunbookPlan;
  readonly executionArn?: string;
  readonly existing?: boolean;
  readonly progress?: ExecutionProgress;
  readonly report?: WrittenReport;
}

async function confirmSwitchover(flags: RunbookFlags): Promise<void> {
  const ok = await (flags.confirm ?? ask)('Start Switchover (partitions are fenced while they move)?');
  if (!ok) throw new UsageError('switchover not confirmed (pass --yes to skip the question)');
}

/**
 * `multiactive runbook <name>`: builds the input, prints the plan (`--dry-run` stops there), asks before a
 * switchover unless `--yes`, starts it under an idempotent name and follows it step by step to its end.
 */
export async function runRunbook(runbook: Runbook, flags: RunbookFlags): Promise<RunbookOutcome> {
  const t = target(flags);
  const request = buildRunbookRequest(runbook, flags, t.regions);
  const topology = t.topology ?? cliTopology('dev');
  const plan = planOf(request, await t.map().catch(() => undefined), topology, { holdSeconds: 7 });
  if (!flags.json) for (const line of formatPlan(plan)) console.error(line);
  if (flags.dryRun) return { plan };
  if (runbook === 'Switchover' && !flags.yes) await confirmSwitchover(flags);
  const executionName =
    flags.executionName ?? executionNameFor(runbook, request.input, flags.now ?? new Date());
  if (!isValidExecutionName(executionName))
    throw new UsageError('--execution-name: 1-80 letters, digits, "-" or "_"');
  const { executionArn, existing } = await t.port.start({ ...request, executionName });
  if (!flags.json) console.error(`${existing ? 'already started, following' : 'started'} ${executionArn}`);
  const renderer = stepRenderer(!flags.json);
  const progress = await followExecution(t.port, executionArn, {
    onProgress: renderer.update,
    ...(flags.pollMs !== undefined ? { intervalMs: flags.pollMs } : {}),
  }).finally(renderer.stop);
  const report = flags.report
    ? await reportCommand(executionArn, {
        env: flags.env,
        out: typeof flags.report === 'string' ? flags.report : undefined,
        port: t.port,
        history: progress.history,
      })
    : undefined;
  return { plan, executionArn, existing, progress, ...(report ? { report } : {}) };
}
