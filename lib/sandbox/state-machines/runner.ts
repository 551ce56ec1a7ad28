import '../polyfills.ts';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { StateMachine } from 'aws-local-stepfunctions';
import { functionNameOf } from '../cdk/intrinsics.ts';
import { ExecutionAlreadyExistsError, UnknownExecutionError, UnknownSandboxRegionError } from '../errors.ts';
import { checkCombinedResults } from './combined-results.ts';
import { type AslDefinition, type AslState, allStates, type StateMachineSpec } from './definitions.ts';
import { type LocalEventLog, toHistoryEvent, valueAtPath } from './history.ts';
import { validateMachines } from './validation.ts';

/**
 * Runs a Lambda by function name in a region (the sandbox's local handlers), on behalf of the state
 * machine `stateMachineArn` (whose role must be allowed to invoke it).
 */
export type FunctionInvoker = (
  region: string,
  functionName: string,
  payload: unknown,
  stateMachineArn: string,
) => Promise<unknown>;

/** Outcome of one execution, shaped like DescribeExecution. */
export interface ExecutionResult {
  readonly executionArn: string;
  readonly stateMachine: string;
  readonly region: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** States entered, in order. */
  readonly states: string[];
  /** Task failures on the way (caught or not), e.g. the Lambda error behind a Fail state. */
  readonly taskErrors: Array<{ state: string; error: string; cause: string }>;
  readonly startDate: string;
  readonly stopDate: string;
}

/** An execution as DescribeExecution shows it, also while it runs. */
export interface ExecutionDescription {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachineArn: string;
  readonly stateMachine: string;
  readonly region: string;
  readonly status: 'RUNNING' | ExecutionResult['status'];
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate: string;
  readonly stopDate?: string;
}

interface LiveExecution {
  readonly spec: StateMachineSpec;
  readonly name: string;
  readonly arn: string;
  readonly input: unknown;
  readonly startDate: string;
  readonly history: HistoryEvent[];
  result?: ExecutionResult;
  readonly done: Promise<ExecutionResult>;
}

export interface StateMachineRunnerOptions {
  readonly machines: readonly StateMachineSpec[];
  readonly invoke: FunctionInvoker;
  /** Multiplies Wait state durations (0.02 turns a 5 s wait into 100 ms). */
  readonly waitScale?: number;
  /** Multiplies Retry intervals the same way. */
  readonly retryScale?: number;
}

/**
 * Step Functions' payload quota: 256 KiB (UTF-8) for an execution's input, a state's input after
 * Parameters, a state's output and a task's result. Past it AWS fails the execution with
 * States.DataLimitExceeded, a terminal error no catcher (not even States.ALL) catches.
 */
export const PAYLOAD_QUOTA_BYTES = 262_144;

/** Error name of a state whose data passed PAYLOAD_QUOTA_BYTES. */
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/** Step Functions' quota on an execution's history: past it, the execution fails. */
export const HISTORY_QUOTA_EVENTS = 25_000;

/** UTF-8 bytes of a value as Step Functions serialises it. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** Refused at StartExecution, as AWS refuses an input over the quota (a ValidationException). */
export class ExecutionInputTooLargeError extends Error {
  override readonly name = 'ValidationException';
  constructor(bytes: number) {
    super(
      `1 validation error detected: the execution input (${bytes} bytes) must be at most ${PAYLOAD_QUOTA_BYTES} bytes`,
    );
  }
}

/** The first quota an execution broke; set once, then the execution is stopped. */
interface QuotaGuard {
  broken?: { error: string; cause: string };
  stop(): void;
  /**
   * History events AWS would have recorded so far: the events kept here, plus the three a Lambda task adds
   * between its TaskStateEntered and TaskStateExited (TaskScheduled, TaskStarted, TaskSucceeded or
   * TaskFailed), which the local history leaves out.
   */
  awsEvents?: number;
}

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;

/** How Step Functions reports a Lambda's error: name = errorType, cause = the JSON error document. */
class LambdaFunctionError extends Error {
  constructor(error: unknown) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    super(JSON.stringify({ errorType: name, errorMessage: message }));
    this.name = name;
  }
}

/** The library's JSON value type (not exported by name). */
type JSONValue = Parameters<StateMachine['run']>[0];
type Handler = (input: JSONValue) => Promise<JSONValue>;

/**
 * Executes the synthesized state machines with aws-local-stepfunctions: every Lambda task is bound (by
 * state name) to the local handler of the function it names, in the machine's own region; Wait states
 * and retry intervals are scaled by the sandbox's time factor.
 * @example const result = await runner.run('eu-west-1', 'multiactive-dev-Failover', { region: 'us-east-1' });
 */
export class StateMachineRunner {
  private readonly options: StateMachineRunnerOptions;
  private readonly history: ExecutionResult[] = [];
  private readonly live = new Map<string, LiveExecution>();
  /** Each machine's ASL verdict, validated once when the runner is built (see validation.ts). */
  private readonly verdicts: Map<StateMachineSpec, Promise<void>>;
  private counter = 0;

  constructor(options: StateMachineRunnerOptions) {
    this.options = options;
    this.verdicts = validateMachines(options.machines);
  }

  /** Names of the machines of a region. */
  names(region: string): string[] {
    return this.options.machines.filter((m) => m.region === region).map((m) => m.name);
  }

  /** Every finished execution, oldest first. */
  executions(): readonly ExecutionResult[] {
    return this.history;
  }

  /** Runs an execution to its end (StartExecution + wait). Accepts the machine's name or its runbook suffix. */
  async run(region: string, name: string, input: unknown): Promise<ExecutionResult> {
    return this.start(region, name, input).done;
  }

  /**
   * StartExecution: returns at once with the execution's ARN; `done` settles when it ends. A `executionName`
   * already used with the same input while that execution runs returns it again (idempotent, as AWS does);
   * a used name otherwise is ExecutionAlreadyExistsError.
   */
  start(
    region: string,
    name: string,
    input: unknown,
    executionName?: string,
  ): { executionArn: string; startDate: string; done: Promise<ExecutionResult> } {
    const spec = this.find(region, name);
    const inputBytes = payloadBytes(input);
    if (inputBytes > PAYLOAD_QUOTA_BYTES) throw new ExecutionInputTooLargeError(inputBytes);
    const runName = executionName ?? `sandbox-${++this.counter}`;
    const executionArn = `${spec.arn.replace(':stateMachine:', ':execution:')}:${runName}`;
    const existing = this.live.get(executionArn);
    if (existing) {
      if (existing.result || JSON.stringify(existing.input) !== JSON.stringify(input))
        throw new ExecutionAlreadyExistsError(executionArn);
      return { executionArn, startDate: existing.startDate, done: existing.done };
    }
    const startDate = new Date().toISOString();
    const history: HistoryEvent[] = [];
    const done = this.execute({ spec, executionArn, runName, input, startDate, history });
    const live: LiveExecution = { spec, name: runName, arn: executionArn, input, startDate, history, done };
    this.live.set(executionArn, live);
    // A refused definition rejects `done` for the caller; this bookkeeping branch must not leave it unhandled.
    done.then(
      (result) => {
        live.result = result;
      },
      () => undefined,
    );
    return { executionArn, startDate, done };
  }

  /** DescribeExecution of an execution this runner started. */
  describe(executionArn: string): ExecutionDescription {
    const live = this.live.get(executionArn);
    if (!live) throw new UnknownExecutionError(executionArn);
    const result = live.result;
    return {
      executionArn,
      name: live.name,
      stateMachineArn: live.spec.arn,
      stateMachine: live.spec.name,
      region: live.spec.region,
      status: result?.status ?? 'RUNNING',
      input: live.input,
      startDate: live.startDate,
      ...(result
        ? {
            stopDate: result.stopDate,
            ...(result.output !== undefined ? { output: result.output } : {}),
            ...(result.error !== undefined ? { error: result.error } : {}),
            ...(result.cause !== undefined ? { cause: result.cause } : {}),
          }
        : {}),
    };
  }

  /** GetExecutionHistory: the events so far, oldest first, from `afterId` on. */
  historyOf(executionArn: string, afterId = 0): HistoryEvent[] {
    const live = this.live.get(executionArn);
    if (!live) throw new UnknownExecutionError(executionArn);
    return live.history.filter((e) => (e.id ?? 0) > afterId);
  }

  /** Every execution started, running ones included, newest first. */
  describeAll(): ExecutionDescription[] {
    return [...this.live.keys()].reverse().map((arn) => this.describe(arn));
  }

  private record(
    spec: StateMachineSpec,
    history: HistoryEvent[],
    event: LocalEventLog,
    lastOfState: Map<string, number>,
  ): void {
    const converted = toHistoryEvent(event, history.length + 1);
    if (!converted) return;
    // As AWS links them: a state's later events (TaskFailed, a retry, its exit) to its previous one, not
    // to whatever event came last (another Parallel branch's, another Map iteration's).
    if ('state' in event) {
      const state = `${event.state.name}#${event.index ?? ''}`;
      const previous = lastOfState.get(state);
      if (event.type !== 'StateEntered' && previous !== undefined) converted.previousEventId = previous;
      lastOfState.set(state, converted.id!);
    }
    history.push(converted);
    if (converted.type !== 'MapStateEntered' || event.type !== 'StateEntered') return;
    // Step Functions announces a Map's item count (MapStateStarted); the progress of Repair reads it.
    const state = allStates(spec.definition)[event.state.name];
    const items = valueAtPath(event.state.input, String(state?.ItemsPath ?? '$'));
    if (Array.isArray(items))
      history.push({
        id: history.length + 1,
        previousEventId: history.length,
        timestamp: new Date(event.timestamp),
        type: 'MapStateStarted',
        mapStateStartedEventDetails: { length: items.length },
      });
  }

  private async execute(run: {
    spec: StateMachineSpec;
    executionArn: string;
    runName: string;
    input: unknown;
    startDate: string;
    history: HistoryEvent[];
  }): Promise<ExecutionResult> {
    const { spec, executionArn, input, startDate } = run;
    // Validated once per definition (like CreateStateMachine), not again for every execution.
    await this.verdicts.get(spec);
    const guard: QuotaGuard = { stop: () => undefined };
    const overrides = {
      taskResourceLocalHandlers: this.taskHandlers(spec, guard),
      waitTimeOverrides: this.waitOverrides(spec.definition),
      retryIntervalOverrides: this.retryOverrides(spec.definition),
    };
    // A Parallel's or Map's raw result, before its ResultSelector: AWS holds it to the quota too.
    checkCombinedResults(
      overrides,
      spec.definition,
      (container, bytes) => overCombined(guard, container, bytes),
      payloadBytes,
    );
    const execution = new StateMachine(spec.definition as never, {
      validationOptions: { noValidate: true },
    }).run(input as JSONValue, {
      overrides,
      context: {
        Execution: { Id: executionArn, Name: run.runName, StartTime: startDate },
      } as never,
    });
    guard.stop = () => execution.abort();
    const states: string[] = [];
    const lastOfState = new Map<string, number>();
    const taskErrors: ExecutionResult['taskErrors'] = [];
    let failure: { error?: string; cause?: string } = {};
    const logs = (async () => {
      for await (const event of execution.eventLogs) {
        this.record(spec, run.history, event, lastOfState);
        checkQuotas(guard, event, spec);
        if (event.type === 'StateEntered') states.push(event.state.name);
        if (event.type === 'StateFailed')
          taskErrors.push({ state: event.state.name, error: event.Error, cause: String(event.Cause) });
        if (event.type === 'ExecutionFailed') failure = { error: event.Error, cause: String(event.Cause) };
      }
    })();
    let result: ExecutionResult;
    try {
      const output = await execution.result;
      result = {
        executionArn,
        stateMachine: spec.name,
        region: spec.region,
        status: 'SUCCEEDED',
        output,
        states,
        taskErrors,
        startDate,
        stopDate: '',
      };
      // The engine forwards a Map iteration's events late: a quota they broke decides the outcome too.
      await logs.catch(() => undefined);
      overQuota(guard, 'execution', 'output', output);
      if (guard.broken) throw new Error(guard.broken.cause);
    } catch (error) {
      await logs.catch(() => undefined);
      if (guard.broken) failure = guard.broken;
      const timedOut = (error as Error).name === 'ExecutionTimeoutError';
      const cause = error instanceof Error ? (error.cause as Error | undefined) : undefined;
      result = {
        executionArn,
        stateMachine: spec.name,
        region: spec.region,
        status: timedOut ? 'TIMED_OUT' : 'FAILED',
        error: failure.error ?? cause?.name ?? (error as Error).name,
        cause: failure.cause ?? cause?.message ?? (error as Error).message,
        states,
        taskErrors,
        startDate,
        stopDate: '',
      };
    }
    await logs.catch(() => undefined);
    const finished = { ...result, stopDate: new Date().toISOString() };
    this.history.push(finished);
    return finished;
  }

  /** The ARN of a region's machine (`name`: full name or suffix, as `start` takes it). */
  arnOf(region: string, name: string): string {
    return this.find(region, name).arn;
  }

  private find(region: string, name: string): StateMachineSpec {
    const inRegion = this.options.machines.filter((m) => m.region === region);
    if (inRegion.length === 0)
      throw new UnknownSandboxRegionError(region, [...new Set(this.options.machines.map((m) => m.region))]);
    const spec = inRegion.find((m) => m.name === name || m.name.endsWith(`-${name}`) || m.arn === name);
    if (!spec)
      throw new Error(
        `no state machine ${name} in ${region}; known: ${inRegion.map((m) => m.name).join(', ')}`,
      );
    return spec;
  }

  private taskHandlers(spec: StateMachineSpec, guard: QuotaGuard): Record<string, Handler> {
    const handlers: Record<string, Handler> = {};
    for (const [stateName, state] of Object.entries(allStates(spec.definition))) {
      if (state.Type !== 'Task' || !state.Resource) continue;
      const handler = this.taskHandler(spec, state);
      // The quota checked where AWS checks it, before the task runs and on its result: a state whose data
      // is too large never reaches its Lambda, and the execution stops there, uncaught.
      handlers[stateName] = async (input) => {
        if (overQuota(guard, stateName, 'input', input)) return never();
        const result = await handler(input);
        if (overQuota(guard, stateName, 'result', result)) return never();
        return result;
      };
    }
    return handlers;
  }

  private taskHandler(spec: StateMachineSpec, state: AslState): Handler {
    const resource = state.Resource as string;
    const invoke = async (functionName: string, payload: unknown) => {
      try {
        return await this.options.invoke(spec.region, functionNameOf(functionName), payload, spec.arn);
      } catch (error) {
        throw new LambdaFunctionError(error);
      }
    };
    if (LAMBDA_INVOKE.test(resource)) {
      // CDK's LambdaInvoke without payloadResponseOnly: the task sees { FunctionName, Payload } and
      // receives Lambda's Invoke response.
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload?: unknown };
        const result = await invoke(FunctionName, Payload ?? {});
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: (result ?? null) as JSONValue };
      };
    }
    if (resource.startsWith('arn:aws:lambda:')) {
      // payloadResponseOnly: the Resource is the function itself and the task gets its return value.
      return async (input) => ((await invoke(resource, input)) ?? null) as JSONValue;
    }
    return async () => {
      throw new Error(`the sandbox cannot run task resource ${resource}`);
    };
  }

  private waitOverrides(definition: AslDefinition): Record<string, number> {
    const scale = this.options.waitScale ?? 1;
    const out: Record<string, number> = {};
    for (const [name, state] of Object.entries(allStates(definition))) {
      if (state.Type === 'Wait' && typeof state.Seconds === 'number')
        out[name] = state.Seconds * 1000 * scale;
    }
    return out;
  }

  private retryOverrides(definition: AslDefinition): Record<string, number[]> {
    const scale = this.options.retryScale ?? this.options.waitScale ?? 1;
    const out: Record<string, number[]> = {};
    for (const [name, state] of Object.entries(allStates(definition))) {
      const retries = state.Retry as
        | Array<{ IntervalSeconds?: number; BackoffRate?: number; MaxAttempts?: number }>
        | undefined;
      if (!retries) continue;
      out[name] = retries.map((r) => (r.IntervalSeconds ?? 1) * 1000 * scale);
    }
    return out;
  }
}

const TASK_STATES = new WeakMap<StateMachineSpec, ReadonlySet<string>>();

/** The names of a machine's Task states (Map iterations' included). */
function taskStates(spec: StateMachineSpec): ReadonlySet<string> {
  let names = TASK_STATES.get(spec);
  if (!names) {
    names = new Set(
      Object.entries(allStates(spec.definition))
        .filter(([, state]) => state.Type === 'Task')
        .map(([name]) => name),
    );
    TASK_STATES.set(spec, names);
  }
  return names;
}

/** The quotas an event of the log can break: a state's data, the length of the history. */
function checkQuotas(guard: QuotaGuard, event: LocalEventLog, spec: StateMachineSpec): void {
  if (event.type === 'StateEntered') overQuota(guard, event.state.name, 'input', event.state.input);
  if (event.type === 'StateExited') overQuota(guard, event.state.name, 'output', event.state.output);
  const task =
    (event.type === 'StateExited' || event.type === 'StateFailed') && taskStates(spec).has(event.state.name);
  guard.awsEvents = (guard.awsEvents ?? 0) + (toHistoryEvent(event, 0) ? 1 : 0) + (task ? 3 : 0);
  if (guard.broken || guard.awsEvents <= HISTORY_QUOTA_EVENTS) return;
  guard.broken = {
    error: 'States.Runtime',
    cause: `the execution history passed ${HISTORY_QUOTA_EVENTS} events (Step Functions' quota; a Lambda task counts the five events AWS records for it)`,
  };
  guard.stop();
}

/** Records a Parallel's or Map's raw result over the quota (see checkCombinedResults) and stops the execution. */
function overCombined(guard: QuotaGuard, container: string, bytes: number): void {
  if (guard.broken || bytes <= PAYLOAD_QUOTA_BYTES) return;
  guard.broken = {
    error: DATA_LIMIT_EXCEEDED,
    cause: `The state/task '${container}' result (its branches' outputs, before ResultSelector) is at least ${bytes} bytes, over the ${PAYLOAD_QUOTA_BYTES}-byte quota`,
  };
  guard.stop();
}

/** Records the first payload over the quota and stops the execution; true when `value` is over it. */
function overQuota(guard: QuotaGuard, state: string, what: string, value: unknown): boolean {
  if (guard.broken) return true;
  const bytes = payloadBytes(value);
  if (bytes <= PAYLOAD_QUOTA_BYTES) return false;
  guard.broken = {
    error: DATA_LIMIT_EXCEEDED,
    cause: `The state/task '${state}' ${what} is ${bytes} bytes, over the ${PAYLOAD_QUOTA_BYTES}-byte quota`,
  };
  guard.stop();
  return true;
}

/** A task that never answers: the execution was stopped under it. */
function never(): Promise<JSONValue> {
  return new Promise<JSONValue>(() => undefined);
}
