/** Base class of every runbook task error; `task` names the state that failed. */
export class RunbookError extends Error {
  readonly runbook: string;
  readonly task: string;

  constructor(runbook: string, task: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunbookError';
    this.runbook = runbook;
    this.task = task;
  }
}

/** The handler was asked for a runbook or task it does not know. */
export class UnknownRunbookTaskError extends RunbookError {
  constructor(runbook: string, task: string) {
    super(runbook, task, `unknown runbook task ${runbook}/${task}`);
    this.name = 'UnknownRunbookTask';
  }
}

/** A task that is part of the contract but not implemented yet. */
export class RunbookTaskNotImplementedError extends RunbookError {
  constructor(runbook: string, task: string) {
    super(runbook, task, `not implemented: runbook ${runbook} task ${task}`);
    this.name = 'RunbookTaskNotImplemented';
  }
}

/** The execution input (or an earlier task's result) lacks a field or has a wrong one. */
export class InvalidRunbookInputError extends RunbookError {
  readonly field: string;

  constructor(runbook: string, task: string, field: string, why: string) {
    super(runbook, task, `invalid input ${field}: ${why}`);
    this.name = 'InvalidRunbookInput';
    this.field = field;
  }
}

/** No region may take over a partition (every allowed region is lost or unknown). */
export class NoEligibleHomeError extends RunbookError {
  readonly partition: number;
  readonly allowed: readonly string[];

  constructor(partition: number, allowed: readonly string[]) {
    super(
      'failover',
      'ChooseNewHomes',
      `no healthy region may home partition ${partition} (allowed: ${allowed.join(', ') || 'none'})`,
    );
    this.name = 'NoEligibleHome';
    this.partition = partition;
    this.allowed = allowed;
  }
}

/** Failback was started for a region with no open failover record. */
export class NoFailoverRecordError extends RunbookError {
  readonly region: string;

  constructor(task: string, region: string) {
    super('failback', task, `no open failover record for ${region}: nothing to fail back`);
    this.name = 'NoFailoverRecord';
    this.region = region;
  }
}

/** A switchover's probe found the partition not writable at its new home. */
export class ProbeFailedError extends RunbookError {
  readonly partition: number;

  constructor(partition: number, why: string) {
    super('switchover', 'VerifyProbe', `partition ${partition} failed its consistency probe: ${why}`);
    this.name = 'ProbeFailed';
    this.partition = partition;
  }
}

/** A switchover step found a partition in a state it cannot continue from (e.g. not fenced before a move). */
export class SwitchoverStateError extends RunbookError {
  readonly partition: number;

  constructor(task: string, partition: number, why: string) {
    super('switchover', task, `partition ${partition}: ${why}`);
    this.name = 'SwitchoverState';
    this.partition = partition;
  }
}

/**
 * Fence got to a partition's compare-and-set after its deadline (its start + RunbookDeps.fenceWindow's
 * budget): the machine may have given up on the task and rolled back already, so it fences nothing more.
 */
export class FenceDeadlineError extends RunbookError {
  readonly partition: number;

  constructor(task: string, partition: number, lateMs: number) {
    super(
      'switchover',
      task,
      `partition ${partition}: the fence's deadline passed ${Math.round(lateMs)} ms ago; nothing more is fenced (Rollback unfences what this run fenced)`,
    );
    this.name = 'FenceDeadline';
    this.partition = partition;
  }
}

/** The conflict to resolve does not exist, or has no open pair left. */
export class ConflictNotFoundError extends RunbookError {
  readonly aggregateType: string;
  readonly aggregateId: string;

  constructor(task: string, aggregateType: string, aggregateId: string, why: string) {
    super('resolve-conflict', task, `conflict on ${aggregateType}/${aggregateId}: ${why}`);
    this.name = 'ConflictNotFound';
    this.aggregateType = aggregateType;
    this.aggregateId = aggregateId;
  }
}

/**
 * Rollback would have handed partitions back to an old home that is unreachable or lacks core writes the
 * current home acknowledged: it moved none of them, and each stays with its current home, active.
 */
export class RollbackRefusedError extends RunbookError {
  readonly partitions: readonly number[];
  readonly reasons: Readonly<Record<number, string>>;

  constructor(runbook: string, task: string, refused: ReadonlyArray<{ partition: number; why: string }>) {
    super(
      runbook,
      task,
      `rollback refused for ${refused.length} partition(s), left with their current homes: ${refused
        .map((r) => `${r.partition} (${r.why})`)
        .join('; ')}`,
    );
    this.name = 'RollbackRefused';
    this.partitions = refused.map((r) => r.partition);
    this.reasons = Object.fromEntries(refused.map((r) => [r.partition, r.why]));
  }
}
