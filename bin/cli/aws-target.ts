import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { stateMachineArn } from '../../cdk/naming.ts';
import type { Topology } from '../../lib/config/index.ts';
import { TargetUnreachableError } from '../../lib/ops/errors.ts';
import type { ExecutionPort, ExecutionSummary, Runbook, StartRequest } from '../../lib/ops/ports.ts';

/** The region of an ARN (`arn:aws:states:<region>:...`). */
const regionOf = (arn: string) => arn.split(':')[3] ?? '';

/** The execution ARN a name gets under a runbook's state machine (used when the name already exists). */
export function executionArnFor(topology: Topology, request: StartRequest): string {
  const machine = stateMachineArn(topology, request.region, request.runbook);
  return `${machine.replace(':stateMachine:', ':execution:')}:${request.executionName}`;
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
 * Runbooks on AWS: the deployed state machines (`multiactive-<env>-<Runbook>` in the region asked for,
 * ARN from cdk/naming.ts), started under an idempotent name and followed through the execution history.
 */
export function awsExecutions(topology: Topology, clientFor: (region: string) => SFNClient): ExecutionPort {
  return {
    async start(request) {
      const stateMachine = stateMachineArn(topology, request.region, request.runbook);
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
        return { executionArn: started.executionArn ?? executionArnFor(topology, request), existing: false };
      } catch (error) {
        // The name is taken: this command already started it (a retry), so follow that execution instead.
        if (error instanceof ExecutionAlreadyExists)
          return { executionArn: executionArnFor(topology, request), existing: true };
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
            stateMachineArn: stateMachineArn(topology, region, runbook),
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

/** One SFN client per region, created on first use. */
export function sfnClients(): (region: string) => SFNClient {
  const clients = new Map<string, SFNClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = new SFNClient({ region });
      clients.set(region, client);
    }
    return client;
  };
}
