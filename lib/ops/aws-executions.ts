import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { TargetUnreachableError } from './errors.ts';
import type { ExecutionPort, ExecutionSummary, Runbook } from './ports.ts';

/** The region of an ARN (`arn:aws:states:<region>:...`). */
const regionOf = (arn: string) => arn.split(':')[3] ?? '';

/** The state machine of a runbook in a region (deterministic names: cdk/naming.ts). */
export type StateMachineArnOf = (region: string, runbook: Runbook) => string;

/** The execution ARN a name gets under a state machine (used when the name already exists). */
export function executionArnFor(machineArn: string, executionName: string): string {
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

function json(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Network and credential failures mean "cannot reach AWS" (exit 3), not "the runbook failed". */
async function reaching<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = (error as Error).name;
    if (
      /Credentials|ENOTFOUND|ECONNREFUSED|TimeoutError|NetworkingError|ExpiredToken|UnrecognizedClient/.test(
        `${name} ${(error as Error).message}`,
      )
    )
      throw new TargetUnreachableError(`${what}: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}

/**
 * Runbooks on AWS: the deployed state machines (`multiactive-<env>-<Runbook>` in the region asked for),
 * started under an idempotent name and followed through the execution history (every page).
 */
export function sfnExecutions(input: {
  readonly clientFor: (region: string) => SFNClient;
  readonly machineArn: StateMachineArnOf;
}): ExecutionPort {
  const { clientFor, machineArn } = input;
  return {
    async start(request) {
      const stateMachine = machineArn(request.region, request.runbook);
      try {
        const started = await reaching(`StartExecution in ${request.region}`, () =>
          clientFor(request.region).send(
            new StartExecutionCommand({
              stateMachineArn: stateMachine,
              name: request.executionName,
              input: JSON.stringify(request.input),
            }),
          ),
        );
        const executionArn = started.executionArn ?? executionArnFor(stateMachine, request.executionName);
        return { executionArn, existing: false };
      } catch (error) {
        // The name is taken: this command already started it (a retry), so follow that execution instead.
        if (error instanceof ExecutionAlreadyExists)
          return { executionArn: executionArnFor(stateMachine, request.executionName), existing: true };
        throw error;
      }
    },
    async describe(executionArn): Promise<ExecutionSummary> {
      const d = await reaching('DescribeExecution', () =>
        clientFor(regionOf(executionArn)).send(new DescribeExecutionCommand({ executionArn })),
      );
      return {
        executionArn,
        name: d.name ?? '',
        runbook: (d.stateMachineArn ?? '').split('-').pop() ?? '',
        region: regionOf(executionArn),
        status: (d.status ?? 'RUNNING') as ExecutionSummary['status'],
        startDate: d.startDate?.getTime() ?? 0,
        stopDate: d.stopDate?.getTime(),
        input: json(d.input),
        output: json(d.output),
        error: d.error,
        cause: d.cause,
      };
    },
    async history(executionArn): Promise<HistoryEvent[]> {
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await reaching('GetExecutionHistory', () =>
          clientFor(regionOf(executionArn)).send(
            new GetExecutionHistoryCommand({
              executionArn,
              maxResults: 1000,
              nextToken,
              includeExecutionData: true,
            }),
          ),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return events;
    },
    async list(runbook: Runbook, region: string, max: number) {
      const page = await reaching('ListExecutions', () =>
        clientFor(region).send(
          new ListExecutionsCommand({
            stateMachineArn: machineArn(region, runbook),
            maxResults: max,
          }),
        ),
      );
      return (page.executions ?? []).map((e) => ({
        executionArn: e.executionArn ?? '',
        name: e.name ?? '',
        runbook,
        region,
        status: (e.status ?? 'RUNNING') as ExecutionSummary['status'],
        startDate: e.startDate?.getTime() ?? 0,
        stopDate: e.stopDate?.getTime(),
      }));
    },
  };
}
