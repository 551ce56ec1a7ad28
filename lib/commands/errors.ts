/** The aggregate has an open manual conflict; writes wait until an operator resolves it. */
export class AggregateFrozenError extends Error {
  override readonly name = 'AggregateFrozenError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(`${aggregateType} ${aggregateId} has an open conflict; resolve it before writing`);
  }
}

/** Optimistic concurrency kept failing: too many writers on one aggregate at once. */
export class ContentionError extends Error {
  override readonly name = 'ContentionError';
  constructor(
    readonly aggregateId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up on ${aggregateId} after ${attempts} concurrent-append retries`, options);
  }
}

/**
 * `core.ack: 'quorum'`: fewer than a majority of all regions (the home included) stored a core write in
 * time (503 + Retry-After). The write is in the home's log, outcome unknown: the home's next write of the
 * aggregate copies it again before anything is decided on top of it (see `quorumReplicator`).
 */
export class QuorumAckError extends Error {
  override readonly name = 'QuorumAckError';
  constructor(
    readonly aggregateId: string,
    readonly peersTried: readonly string[],
    readonly retryAfterMs: number,
    options?: ErrorOptions & { readonly stored?: number; readonly needed?: number },
  ) {
    super(
      `a majority of regions did not store the write to ${aggregateId} (peers tried: ${peersTried.join(', ') || 'none'}` +
        `${options?.needed === undefined ? '' : `; ${options.stored ?? 0} of the ${options.needed} needed stored it`})`,
      options,
    );
  }
}

/** A peer refused a quorum copy: sealed against this writer's epoch, or it kept refusing the run. */
export class PeerRefusedError extends Error {
  override readonly name = 'PeerRefusedError';
  constructor(
    readonly region: string,
    /** `archived`: the peer lacks an event the home holds only as its archived stub, with no archive to copy from. */
    readonly reason: 'sealed' | 'behind' | 'conflict' | 'archived',
  ) {
    super(
      reason === 'archived'
        ? `peer ${region} refused the quorum copy (archived): it lacks events the home holds only as archived stubs, and no archive was given to copy them whole`
        : `peer ${region} refused the quorum copy (${reason})`,
    );
  }
}

/**
 * A branch retire refused because the region's copy of the partition entry no longer names the owner the
 * caller read (a Failover or Switchover moved the home since): the winning branch it was given is stale.
 * Nothing of the refused chunk was deleted; run the settlement again (it reads the new home).
 */
export class HomeMovedError extends Error {
  override readonly name = 'HomeMovedError';
  constructor(
    readonly region: string,
    readonly aggregateId: string,
    readonly expected: { readonly home: string; readonly epoch: number },
  ) {
    super(
      `retire of ${aggregateId} at ${region} refused: the partition is no longer homed in ${expected.home} at epoch ${expected.epoch}`,
    );
  }
}

/** A peer holds another branch of a core log and no branch retirer is wired to move it to the queue. */
export class PeerDivergedError extends Error {
  override readonly name = 'PeerDivergedError';
  constructor(
    readonly region: string,
    readonly aggregateId: string,
    readonly seq: number,
  ) {
    super(
      `peer ${region} holds another branch of ${aggregateId} from seq ${seq}; it cannot count towards a quorum`,
    );
  }
}
