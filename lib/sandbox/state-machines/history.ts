import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { StateMachine } from 'aws-local-stepfunctions';

/** One event of aws-local-stepfunctions' `eventLogs` (the library does not export the type by name). */
export type LocalEventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

const json = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));

/** States whose failures Step Functions reports as TaskFailed (the rest fail as `<Type>StateFailed`-less). */
function failedType(stateType: string): HistoryEvent['type'] {
  return stateType === 'Task' ? 'TaskFailed' : stateType === 'Map' ? 'MapStateFailed' : 'ExecutionFailed';
}

/**
 * An aws-local-stepfunctions event in the shape GetExecutionHistory returns, so that one renderer
 * (lib/ops/history.ts) reads sandbox and AWS executions alike. Undefined for events AWS has no twin of.
 */
export function toHistoryEvent(event: LocalEventLog, id: number): HistoryEvent | undefined {
  const base = { id, previousEventId: id - 1, timestamp: new Date(event.timestamp) };
  switch (event.type) {
    case 'ExecutionStarted':
      return {
        ...base,
        type: 'ExecutionStarted',
        executionStartedEventDetails: { input: json(event.input) },
      };
    case 'ExecutionSucceeded':
      return {
        ...base,
        type: 'ExecutionSucceeded',
        executionSucceededEventDetails: { output: json(event.output) },
      };
    case 'ExecutionFailed':
      return {
        ...base,
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: event.Error, cause: String(event.Cause) },
      };
    case 'ExecutionAborted':
      return { ...base, type: 'ExecutionAborted' };
    case 'ExecutionTimeout':
      return { ...base, type: 'ExecutionTimedOut' };
    case 'StateEntered':
      return {
        ...base,
        type: `${event.state.type}StateEntered` as HistoryEvent['type'],
        stateEnteredEventDetails: { name: event.state.name, input: json(event.state.input) },
      };
    case 'StateExited':
      return {
        ...base,
        type: `${event.state.type}StateExited` as HistoryEvent['type'],
        stateExitedEventDetails: { name: event.state.name, output: json(event.state.output) },
      };
    case 'StateFailed': {
      const type = failedType(event.state.type);
      if (type === 'ExecutionFailed') return undefined;
      return {
        ...base,
        type,
        taskFailedEventDetails: {
          error: event.Error,
          cause: String(event.Cause),
          resource: event.state.name,
          resourceType: 'lambda',
        },
      };
    }
    case 'StateRetried':
      return { ...base, type: 'TaskScheduled' };
    case 'MapIterationStarted':
      return {
        ...base,
        type: 'MapIterationStarted',
        mapIterationStartedEventDetails: { name: event.parentState.name, index: event.index },
      };
    case 'MapIterationSucceeded':
      return {
        ...base,
        type: 'MapIterationSucceeded',
        mapIterationSucceededEventDetails: { name: event.parentState.name, index: event.index },
      };
    case 'MapIterationFailed':
      return {
        ...base,
        type: 'MapIterationFailed',
        mapIterationFailedEventDetails: { name: event.parentState.name, index: event.index },
      };
    default:
      return undefined;
  }
}

/** `$.a.b` evaluated on a value (the only path form the runbooks' ItemsPath uses). */
export function valueAtPath(value: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  let current = value;
  for (const key of path.slice(1).split('.').filter(Boolean)) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
