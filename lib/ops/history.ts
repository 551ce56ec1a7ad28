import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** One step of an execution as an operator reads it: a top-level state, its loops merged. */
export interface ExecutionStep {
  readonly name: string;
  /** The state's type as the history names it: Task, Map, Wait, Fail... */
  readonly kind: string;
  /** Epoch ms of the first entry and of the last exit (undefined while running). */
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  /** `aborted`: stopped by Step Functions without failing itself (a Parallel branch whose sibling failed). */
  readonly status: 'running' | 'succeeded' | 'failed' | 'aborted';
  /** How many times the state was entered (a polling loop enters it once per poll). */
  readonly visits: number;
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
  /** Map states: iterations finished, failed and known in total (total undefined until known). */
  readonly iterations?: { done: number; failed: number; total: number | undefined } | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutableStep = Mutable<ExecutionStep> & {
  iterations?: { done: number; failed: number; total: number | undefined };
};

/** Events after which an earlier task failure no longer decides the step (a retry started, or it worked). */
const CLEARS_FAILURE = new Set([
  'TaskScheduled',
  'TaskSucceeded',
  'LambdaFunctionScheduled',
  'LambdaFunctionSucceeded',
]);

/** State types whose visits are plumbing, not steps (branching, pass-through, a Parallel whose branches' states show as steps). */
const HIDDEN = new Set(['Choice', 'Pass', 'Succeed', 'Parallel']);

const at = (event: HistoryEvent) => (event.timestamp ? new Date(event.timestamp).getTime() : 0);

function failureOf(event: HistoryEvent): { error?: string; cause?: string } | undefined {
  const details =
    event.taskFailedEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.executionFailedEventDetails ??
    event.mapIterationFailedEventDetails;
  if (!details && !event.type?.endsWith('Failed')) return undefined;
  const withError = details as { error?: string; cause?: string } | undefined;
  return { error: withError?.error, cause: withError?.cause };
}

/** Folds history events into steps, one event at a time (see stepsOf). */
class StepFolder {
  readonly steps: MutableStep[] = [];
  private readonly byName = new Map<string, MutableStep>();
  private mapDepth = 0;
  private currentMap: MutableStep | undefined;
  private current: MutableStep | undefined;
  /** Steps whose last task attempt failed (more than one when Parallel branches fail at once). */
  private readonly failedSteps = new Set<MutableStep>();
  /** The step each event belongs to, by event id: an event's previousEventId links it to its state. */
  private readonly stepOfEvent = new Map<number, MutableStep>();

  add(event: HistoryEvent): void {
    const type = event.type ?? '';
    if (type.startsWith('Map') && !type.startsWith('MapState')) this.onIteration(event);
    else if (type.endsWith('StateAborted') && !type.startsWith('Parallel') && this.mapDepth === 0)
      this.onAborted(event);
    else if (type === 'MapStateStarted') this.onMapStarted(event);
    else if (type.endsWith('StateEntered')) this.onEntered(event, type.slice(0, -'StateEntered'.length));
    else if (type.endsWith('StateExited')) this.onExited(event, type);
    else if (this.mapDepth === 0) this.onOther(event, type);
    else if (type.startsWith('Execution')) {
      // The execution ended inside a Map whose exit the history lacks: it ends every step all the same.
      this.mapDepth = 0;
      this.onOther(event, type);
    }
  }

  private onIteration(event: HistoryEvent): void {
    const iterations = this.currentMap?.iterations;
    if (!iterations || this.mapDepth !== 1) return;
    if (event.type === 'MapIterationSucceeded') iterations.done++;
    if (event.type === 'MapIterationFailed') iterations.failed++;
  }

  private onMapStarted(event: HistoryEvent): void {
    if (this.currentMap?.iterations && this.mapDepth === 1)
      this.currentMap.iterations.total = event.mapStateStartedEventDetails?.length;
  }

  private onEntered(event: HistoryEvent, kind: string): void {
    if (this.mapDepth > 0) {
      if (kind === 'Map') this.mapDepth++;
      return;
    }
    if (kind === 'Map') this.mapDepth = 1;
    if (HIDDEN.has(kind)) return;
    const name = event.stateEnteredEventDetails?.name ?? '?';
    let step = this.byName.get(name);
    if (step) {
      step.visits++;
      step.status = 'running';
      step.endedAt = undefined;
    } else {
      step = { name, kind, startedAt: at(event), endedAt: undefined, status: 'running', visits: 1 };
      if (kind === 'Map') step.iterations = { done: 0, failed: 0, total: undefined };
      this.byName.set(name, step);
      this.steps.push(step);
    }
    this.current = step;
    if (event.id !== undefined) this.stepOfEvent.set(event.id, step);
    if (kind === 'Map') this.currentMap = step;
  }

  /**
   * A state Step Functions stopped (TaskStateAborted: a Parallel branch in flight when its sibling failed,
   * or an execution stopped): it never exits. Found by name, else by its previousEventId chain.
   */
  private onAborted(event: HistoryEvent): void {
    const name = event.stateExitedEventDetails?.name;
    const linked =
      event.previousEventId !== undefined ? this.stepOfEvent.get(event.previousEventId) : undefined;
    const step = (name ? this.byName.get(name) : undefined) ?? linked;
    if (step?.status !== 'running') return;
    step.status = this.failedSteps.has(step) ? 'failed' : 'aborted';
    step.endedAt = at(event);
  }

  /**
   * A step whose task failed but that never exits (a Parallel branch's task has no Catch of its own: the
   * Parallel fails, or the execution ends) failed: called when its Parallel or the execution ends.
   */
  private settleFailed(event: HistoryEvent): boolean {
    let settled = false;
    for (const step of this.failedSteps)
      if (step.status === 'running') {
        step.status = 'failed';
        step.endedAt = at(event);
        settled = true;
      }
    return settled;
  }

  /**
   * Once the execution ended, no step runs: one still running never exited in the history (its abort or
   * its exit not recorded, as a sandbox history can lose a nested state's) ended with the execution,
   * succeeded if the execution did, else aborted.
   */
  private settleRunning(event: HistoryEvent): void {
    for (const step of this.steps)
      if (step.status === 'running') {
        step.status = event.type === 'ExecutionSucceeded' ? 'succeeded' : 'aborted';
        step.endedAt = at(event);
      }
  }

  private onExited(event: HistoryEvent, type: string): void {
    if (type === 'MapStateExited') this.mapDepth = Math.max(0, this.mapDepth - 1);
    if (this.mapDepth > 0) return;
    if (type === 'ParallelStateExited') this.settleFailed(event);
    const step = this.byName.get(event.stateExitedEventDetails?.name ?? '?');
    if (step?.status !== 'running') return;
    // A failure caught by the state's Catch still exits the state: the step failed all the same.
    step.status = this.failedSteps.has(step) ? 'failed' : 'succeeded';
    step.endedAt = at(event);
  }

  /**
   * A task event (TaskScheduled, TaskFailed...: no state name) belongs to the state its previousEventId
   * chain leads to, as Step Functions links them (TaskStateEntered <- TaskScheduled <- TaskStarted <-
   * TaskFailed); with two Parallel branches in flight, the last state entered may be the other branch's.
   * Events that link to no step go to the last state entered.
   */
  private onOther(event: HistoryEvent, type: string): void {
    // ParallelStateFailed / Aborted: the branch's own task event already named the failed step.
    if (type.startsWith('ParallelState')) {
      this.settleFailed(event);
      return;
    }
    const ended = type.startsWith('Execution') && type !== 'ExecutionStarted';
    // The execution's failure is that of a step whose task failed, when one was still unsettled: not the
    // last state entered's (another Parallel branch's, then aborted).
    if (ended && this.settleFailed(event)) {
      this.settleRunning(event);
      return;
    }
    const linked =
      event.previousEventId !== undefined ? this.stepOfEvent.get(event.previousEventId) : undefined;
    const step = type.startsWith('Execution') ? this.current : (linked ?? this.current);
    if (step && event.id !== undefined) this.stepOfEvent.set(event.id, step);
    if (step && CLEARS_FAILURE.has(type)) this.failedSteps.delete(step);
    const failure = failureOf(event);
    if (failure && step?.status === 'running') {
      step.error = failure.error ?? 'Error';
      step.cause = failure.cause;
      this.failedSteps.add(step);
      if (type.startsWith('Execution')) {
        step.status = 'failed';
        step.endedAt = at(event);
      }
    }
    if (ended) this.settleRunning(event);
  }
}

/**
 * The steps of an execution from its history (GetExecutionHistory, oldest first): top-level states in
 * order of first entry; a state entered again (a polling loop) stays one step with `visits` counted;
 * states inside a Map iteration count as the Map's progress instead of steps of their own.
 * @example stepsOf(events).map((s) => `${s.name} ${s.status}`) // ['Fence succeeded', 'CheckWatermark running']
 */
export function stepsOf(events: readonly HistoryEvent[]): ExecutionStep[] {
  const folder = new StepFolder();
  for (const event of events) folder.add(event);
  return folder.steps;
}

/** The execution's terminal event, if it ended: status with the error of a failure. */
export function outcomeOf(
  events: readonly HistoryEvent[],
): { status: string; error?: string; cause?: string; at: number } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const type = event.type ?? '';
    if (!type.startsWith('Execution') || type === 'ExecutionStarted') continue;
    const status = type.replace('Execution', '').toUpperCase();
    const failure = event.executionFailedEventDetails;
    return {
      status: status === 'TIMEDOUT' ? 'TIMED_OUT' : status,
      at: at(event),
      ...(failure?.error ? { error: failure.error } : {}),
      ...(failure?.cause ? { cause: failure.cause } : {}),
    };
  }
  return undefined;
}
