/** Base class of conflict detection and resolution errors. */
export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}

/** A resolution was requested for an aggregate that has a single head (nothing is concurrent). */
export class NothingToResolveError extends ConflictError {
  override readonly name = 'NothingToResolveError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(`${aggregateType} ${aggregateId} has no open conflict (a single head)`);
  }
}

/** The operator resolved a set of heads that is no longer the aggregate's set of heads. */
export class StaleResolutionError extends ConflictError {
  override readonly name = 'StaleResolutionError';
  constructor(
    readonly aggregateId: string,
    readonly expected: readonly string[],
    readonly actual: readonly string[],
  ) {
    super(
      `heads of ${aggregateId} changed: expected [${expected.join(', ')}], found [${actual.join(', ')}]; ` +
        'review the new events and resolve again',
    );
  }
}

/** Writing the resolution kept losing the race against concurrent writers. */
export class ResolutionContentionError extends ConflictError {
  override readonly name = 'ResolutionContentionError';
  constructor(
    readonly aggregateId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up resolving ${aggregateId} after ${attempts} attempts`, options);
  }
}

/**
 * An important or ordinary fold met an archived stub (lib/lifecycle: the event's payload left for the
 * archive, its slot kept). Only a core type with `lifecycle.retentionDays` has stubs; a type moved from
 * core to another tier keeps them in its log, and no important/ordinary applier folds from a snapshot or
 * the archive. Not the event's fault (its payload is not invalid, it is elsewhere): keep the type core, or
 * put its archived events back before the move (`fullHistory` reads them; README "Guide: move an
 * aggregate between tiers").
 */
export class ArchivedEventInFoldError extends ConflictError {
  override readonly name = 'ArchivedEventInFoldError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly eventId: string,
    readonly seq: number,
  ) {
    super(
      `${aggregateType} ${aggregateId}: event ${eventId} (seq ${seq}) is an archived stub whose payload is in the archive; ` +
        `an important/ordinary fold cannot use it (${aggregateType} was a core type with lifecycle.retentionDays): ` +
        'keep the type core, or restore its archived events (fullHistory) before moving its tier',
    );
  }
}
