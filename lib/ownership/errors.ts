/** Base class of partition-ownership errors. */
export class OwnershipError extends Error {
  override readonly name: string = 'OwnershipError';
}

/**
 * A core append carried an epoch the region's local copy of the partition map no longer has (the store's
 * ConditionCheck on the control table failed): ownership moved, or this region is not the home any more.
 */
export class StaleEpochError extends OwnershipError {
  override readonly name = 'StaleEpochError';
  constructor(
    readonly partition: number,
    readonly region: string,
    readonly epoch: number,
    options?: ErrorOptions,
  ) {
    super(`region ${region} refused a core write to partition ${partition} at stale epoch ${epoch}`, options);
  }
}

/** This region is not the home of the partition: the write belongs to `home`. */
export class NotHomeError extends OwnershipError {
  override readonly name = 'NotHomeError';
  constructor(
    readonly partition: number,
    readonly region: string,
    readonly home: string,
    readonly epoch: number,
  ) {
    super(`partition ${partition} is homed in ${home} at epoch ${epoch}, not in ${region}`);
  }
}

/** The partition is fenced (being moved) or not yet active after a move: retry after `retryAfterMs`. */
export class PartitionFencedError extends OwnershipError {
  override readonly name = 'PartitionFencedError';
  constructor(
    readonly partition: number,
    readonly epoch: number,
    readonly retryAfterMs: number,
  ) {
    super(`partition ${partition} is fenced at epoch ${epoch}; retry in ${retryAfterMs} ms`);
  }
}

/**
 * A core write's lease ran out before its append (the write was in flight too long: a slow quorum copy, a
 * pause): nothing was appended; retry (a fresh lease is read first).
 */
export class LeaseExpiredError extends OwnershipError {
  override readonly name = 'LeaseExpiredError';
  constructor(
    readonly partition: number,
    readonly region: string,
    readonly epoch: number,
    readonly lateMs: number,
  ) {
    super(
      `region ${region} held partition ${partition}'s lease (epoch ${epoch}) no longer when the append was due (${Math.round(lateMs)} ms late); nothing was written`,
    );
  }
}

/** Fewer than a majority of regions answered: control state can be neither read nor written safely. */
export class QuorumUnavailableError extends OwnershipError {
  override readonly name = 'QuorumUnavailableError';
  constructor(
    readonly key: string,
    readonly answered: number,
    readonly needed: number,
    options?: ErrorOptions,
  ) {
    super(`control state ${key}: ${answered} region(s) answered, a majority needs ${needed}`, options);
  }
}

/** A compare-and-set lost: another proposer changed the register first. Re-read and decide again. */
export class EpochConflictError extends OwnershipError {
  override readonly name = 'EpochConflictError';
  constructor(
    readonly key: string,
    readonly expectedEpoch: number,
    readonly acks: number,
    readonly needed: number,
  ) {
    super(`compare-and-set of ${key} from epoch ${expectedEpoch} lost (${acks} of ${needed} needed acks)`);
  }
}

/** A partition-map change that would break single-writer (for example moving an active partition). */
export class InvalidTransitionError extends OwnershipError {
  override readonly name = 'InvalidTransitionError';
  constructor(
    readonly partition: number,
    readonly reason: string,
  ) {
    super(`partition ${partition}: ${reason}`);
  }
}

/**
 * A runbook step found the partition's entry no longer carrying its execution's run id: a Failover, an
 * operator or another execution changed it since. The step leaves it alone.
 */
export class EntryChangedError extends OwnershipError {
  override readonly name = 'EntryChangedError';
  constructor(
    readonly partition: number,
    readonly run: string,
    readonly entry: { readonly home: string; readonly state: string; readonly epoch: number },
  ) {
    super(
      `partition ${partition} was changed by someone else since run ${run}: now ${entry.home}/${entry.state} at epoch ${entry.epoch}`,
    );
  }
}

/** The target did not catch up with the source in time during a re-homing; the move was rolled back. */
export class DrainTimeoutError extends OwnershipError {
  override readonly name = 'DrainTimeoutError';
  constructor(
    readonly partition: number,
    readonly from: string,
    readonly to: string,
    readonly waitedMs: number,
  ) {
    super(`partition ${partition}: ${to} did not catch up with ${from} within ${waitedMs} ms`);
  }
}
