/** Base class of the data lifecycle's errors (snapshots, archive, restore). */
export class LifecycleError extends Error {
  override readonly name: string = 'LifecycleError';
}

/**
 * The hot log cannot be folded as it is: it does not start at seq 1, or a fold would reach an archived stub
 * (`archivedSeq`: its payload is in the archive), and neither a usable snapshot above it nor the archive
 * covers what is missing: folding it would give a state the aggregate never had, so the fold refuses.
 */
export class HistoryIncompleteError extends LifecycleError {
  override readonly name = 'HistoryIncompleteError';
  /** The archived stub the fold would have reached, when that is the reason. */
  readonly archivedSeq: number | undefined;
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly firstSeq: number,
    options?: ErrorOptions & { readonly archivedSeq?: number },
  ) {
    super(
      options?.archivedSeq !== undefined
        ? `${aggregateType}#${aggregateId}: seq ${options.archivedSeq} is archived (a stub in the hot log), and neither a usable snapshot at or above it nor the archive covers it`
        : `${aggregateType}#${aggregateId}: its log starts at seq ${firstSeq}, and neither a usable snapshot nor the archive covers seq 1..${firstSeq - 1}`,
      options,
    );
    this.archivedSeq = options?.archivedSeq;
  }
}

/** An archive object that does not hold what its name promises (unreadable line, wrong aggregate, gap). */
export class ArchiveCorruptError extends LifecycleError {
  override readonly name = 'ArchiveCorruptError';
  constructor(
    readonly key: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`archive object ${key}: ${reason}`, options);
  }
}

/** An archive object read back differs from what was written: nothing is deleted from the hot table. */
export class ArchiveVerificationError extends LifecycleError {
  override readonly name = 'ArchiveVerificationError';
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`archive object ${key} does not read back as written; the hot table keeps its events`, options);
  }
}

/**
 * A forked core aggregate whose logs do not agree at the point one region archived below: settling it
 * automatically would decide without the archived history, so the runbook refuses and names it.
 */
export class ForkBelowArchiveError extends LifecycleError {
  override readonly name = 'ForkBelowArchiveError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly seq: number,
    options?: ErrorOptions,
  ) {
    super(
      `${aggregateType}#${aggregateId}: a region archived its log below seq ${seq} and not every region holds the same event there; settle it by hand from the archive (fullHistory)`,
      options,
    );
  }
}

/** The archiver was given peers or a region that would move payloads unsafely (gate off, not the home). */
export class ArchiverConfigError extends LifecycleError {
  override readonly name: string = 'ArchiverConfigError';
}

/**
 * The aggregate's partition is not homed at this region (homed elsewhere, or fenced: moving): only its home
 * archives it. An archive pass skips such an aggregate (`archiveSweep` counts it `homedElsewhere`).
 */
export class ArchiverNotHomeError extends ArchiverConfigError {
  override readonly name = 'ArchiverNotHomeError';
  constructor(
    readonly aggregate: string,
    readonly partition: number,
    readonly home: string | undefined,
    readonly region: string,
  ) {
    super(
      `${aggregate}: partition ${partition} is homed in ${home ?? 'no region (fenced: moving)'}, not ${region}; only the home archives`,
    );
  }
}
