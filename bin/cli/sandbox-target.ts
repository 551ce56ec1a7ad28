import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { TargetUnreachableError, UsageError } from '../../lib/ops/errors.ts';
import type { ExecutionPort, ExecutionSummary, StartRequest } from '../../lib/ops/ports.ts';
import type { ControlRequest } from '../../lib/sandbox/control/server.ts';
import { readStateFile, type SandboxStateFile } from '../../lib/sandbox/control/state-file.ts';
import type { ExecutionDescription } from '../../lib/sandbox/state-machines/runner.ts';

/** The sandbox that `sandbox up` started (its state file), or a usage error saying how to start one. */
export function upSandbox(): SandboxStateFile {
  const state = readStateFile();
  if (!state)
    throw new TargetUnreachableError(
      'no sandbox is up (run `multiactive sandbox up` in another terminal, or pass --env)',
    );
  return state;
}

/** One control request to the running sandbox. Errors: 404 -> usage (unknown region...), no answer -> exit 3. */
export async function callSandbox<T = unknown>(request: ControlRequest): Promise<T> {
  const state = upSandbox();
  const regions = Object.keys(state.regions);
  for (const key of ['region', 'a', 'b'] as const) {
    const value = (request as Record<string, unknown>)[key];
    if (typeof value === 'string' && !regions.includes(value))
      throw new UsageError(`unknown region "${value}"; the sandbox runs ${regions.join(', ')}`);
  }
  let response: Response;
  try {
    response = await fetch(state.controlUrl, { method: 'POST', body: JSON.stringify(request) });
  } catch (error) {
    throw new TargetUnreachableError(
      `the sandbox at ${state.controlUrl} does not answer (${(error as Error).message}); is it still up?`,
      { cause: error },
    );
  }
  const body = (await response.json()) as T & { error?: string; message?: string };
  if (response.status === 404 || response.status === 400) throw new UsageError(body.message ?? 'refused');
  if (!response.ok) throw new Error(body.message ?? `control endpoint answered ${response.status}`);
  return body;
}

const toSummary = (d: ExecutionDescription): ExecutionSummary => ({
  executionArn: d.executionArn,
  name: d.name,
  runbook: d.stateMachine.replace(/^multiactive-[a-z0-9-]+?-(?=[A-Z])/, ''),
  region: d.region,
  status: d.status,
  startDate: Date.parse(d.startDate),
  stopDate: d.stopDate ? Date.parse(d.stopDate) : undefined,
  input: d.input,
  output: d.output,
  error: d.error,
  cause: d.cause,
});

/** Runbooks in the sandbox through its control endpoint, with the Step Functions API's shape. */
export const sandboxExecutions: ExecutionPort = {
  async start(request: StartRequest) {
    return callSandbox<{ executionArn: string; existing: boolean }>({
      action: 'execution-start',
      runbook: request.runbook,
      region: request.region,
      input: request.input,
      executionName: request.executionName,
    });
  },
  async describe(executionArn) {
    return toSummary(await callSandbox<ExecutionDescription>({ action: 'execution-describe', executionArn }));
  },
  async history(executionArn) {
    const { events } = await callSandbox<{ events: HistoryEvent[] }>({
      action: 'execution-history',
      executionArn,
    });
    return events.map((e) => ({ ...e, timestamp: e.timestamp ? new Date(e.timestamp) : undefined }));
  },
};
