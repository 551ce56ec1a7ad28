import { paginateScan } from '@aws-sdk/lib-dynamodb';
import type { Topology } from '../config/schema.ts';
import { bugEnabled } from '../faults/index.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { type ArchiverDeps, archiveAggregate } from './archiver.ts';
import { ArchiverNotHomeError } from './errors.ts';

export interface ArchiveSweepInput {
  readonly topology: Pick<Topology, 'aggregates'>;
  readonly registry: AggregateRegistry;
  /** The state table, whose rows name every aggregate of the region. */
  readonly stateTable: string;
  readonly now: number;
  /**
   * When to stop (epoch ms, the run's clock `clock`): no aggregate is begun at or after it. The scheduled
   * archiver sets it a margin before its Lambda timeout, so that a pass longer than one run stops cleanly,
   * remembers where (`PASS_CURSOR_KEY` in the archive), and the next run goes on from there instead of
   * starting over: a pass that always restarted would never reach the aggregates past one run's reach.
   * Absent: the pass runs to its end and keeps no cursor.
   */
  readonly stopAt?: number;
  /** The clock `stopAt` is read on (default `Date.now`). */
  readonly clock?: () => number;
}

/** Where a pass cut short stopped: the type, and the state table key of the last aggregate done. */
export interface ArchivePassCursor {
  readonly type: string;
  readonly afterKey: string;
}

/**
 * The archive's object holding the cursor of an unfinished pass (`{}` once a pass completes). Aggregate
 * types are lower-case letters, digits and dashes, so no archived object's key starts with `_`.
 */
export const PASS_CURSOR_KEY = '_archiver/pass.json';

/**
 * How long before its Lambda timeout a scheduled run stops beginning aggregates (one aggregate's archive,
 * its S3 objects and stub writes, fits in it; the function's timeout is 15 minutes).
 */
export const ARCHIVE_STOP_MARGIN_MS = 120_000;

/** A run that cut its pass short saves its cursor at least this often (a run killed anyway loses little). */
const CURSOR_SAVE_EVERY_MS = 60_000;

export interface ArchiveSweepReport {
  /**
   * Per aggregate type with a retention: aggregates looked at, events archived, and (when any) aggregates
   * left to their partition's home (`ArchiverDeps.topology.homeOf`: homed elsewhere, or moving).
   */
  readonly types: Readonly<
    Record<
      string,
      { readonly aggregates: number; readonly archived: number; readonly homedElsewhere?: number }
    >
  >;
  /** Aggregates whose run failed, with why (the sweep goes on with the others). */
  readonly failures: ReadonlyArray<{ readonly aggregate: string; readonly error: string }>;
  /** Where this run began (a cursor of the previous run), when it went on with an unfinished pass. */
  readonly resumedFrom?: ArchivePassCursor;
  /** Where this run stopped at `stopAt`, when the pass is not finished (the next run goes on there). */
  readonly stoppedAt?: ArchivePassCursor;
}

/**
 * One region's archive pass (the job a schedule runs): every aggregate of every type with a
 * `lifecycle.retentionDays`, found by a keys-only Scan of the state table, archived one by one. A failure
 * is reported and the pass goes on: the next pass retries it, and nothing is deleted that was not archived.
 * With `stopAt`, a pass goes on from the cursor an earlier run saved and stops at `stopAt`, saving its own.
 * @example await archiveSweep(deps, { topology, registry, stateTable, now: Date.now() })
 */
export async function archiveSweep(
  deps: ArchiverDeps,
  input: ArchiveSweepInput,
): Promise<ArchiveSweepReport> {
  const types: Record<string, { aggregates: number; archived: number; homedElsewhere?: number }> = {};
  const failures: Array<{ aggregate: string; error: string }> = [];
  const clock = input.clock ?? Date.now;
  const resumable = input.stopAt !== undefined && !bugEnabled('archive-pass-restarts');
  const saved = resumable ? await readCursor(deps) : undefined;
  const configured = input.topology.aggregates.filter((a) => a.lifecycle?.retentionDays !== undefined);
  // A cursor naming a type no longer retained (configuration changed): start over.
  const resumedFrom = saved && configured.some((a) => a.type === saved.type) ? saved : undefined;
  const first = resumedFrom ? configured.findIndex((a) => a.type === resumedFrom.type) : 0;
  let savedAt = clock();
  let begun = 0;
  const save = async (cursor: ArchivePassCursor) => {
    if (resumable) await deps.archive.put(PASS_CURSOR_KEY, JSON.stringify(cursor));
    savedAt = clock();
  };
  const late = () => input.stopAt !== undefined && clock() >= input.stopAt;
  for (const entry of configured.slice(first)) {
    const retentionDays = entry.lifecycle!.retentionDays!;
    const aggregate = input.registry.get(entry.type);
    const totals = { aggregates: 0, archived: 0 };
    let homedElsewhere = 0;
    const tally = () => {
      types[entry.type] = homedElsewhere > 0 ? { ...totals, homedElsewhere } : totals;
    };
    let position: ArchivePassCursor = {
      type: entry.type,
      afterKey: resumedFrom?.type === entry.type ? resumedFrom.afterKey : '',
    };
    const stop = async (): Promise<ArchiveSweepReport> => {
      await save(position);
      tally();
      return { types, failures, ...(resumedFrom ? { resumedFrom } : {}), stoppedAt: position };
    };
    for await (const next of aggregateIds(deps, input.stateTable, entry.type, position.afterKey)) {
      if ('pageEnd' in next) {
        // Everything up to the page's end is done: a sparse type moves its cursor on between matches.
        if (next.pageEnd !== undefined) position = { type: entry.type, afterKey: next.pageEnd };
        if (next.pageEnd !== undefined && late()) return stop();
        continue;
      }
      // Not before this run began one aggregate: a run always moves the pass on.
      if (begun > 0 && late()) return stop();
      begun++;
      totals.aggregates++;
      try {
        const run = await archiveAggregate(deps, aggregate, {
          aggregateId: next.aggregateId,
          retentionDays,
          now: input.now,
        });
        totals.archived += run.archived;
      } catch (error) {
        // Every region's state table names the aggregate; only its home archives it (not a failure).
        if (error instanceof ArchiverNotHomeError) {
          homedElsewhere++;
        } else {
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          failures.push({ aggregate: `${entry.type}#${next.aggregateId}`, error: message });
        }
      }
      position = { type: entry.type, afterKey: next.key };
      if (resumable && clock() - savedAt >= CURSOR_SAVE_EVERY_MS) await save(position);
    }
    tally();
  }
  // The pass is complete: the next run begins a new one.
  if (resumable) await deps.archive.put(PASS_CURSOR_KEY, '{}');
  return { types, failures, ...(resumedFrom ? { resumedFrom } : {}) };
}

/** The cursor an earlier run saved, if its pass is unfinished (a malformed one is ignored: start over). */
async function readCursor(deps: ArchiverDeps): Promise<ArchivePassCursor | undefined> {
  const body = await deps.archive.get(PASS_CURSOR_KEY);
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as Partial<ArchivePassCursor>;
    return typeof parsed.type === 'string' && typeof parsed.afterKey === 'string'
      ? { type: parsed.type, afterKey: parsed.afterKey }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ids of a type's aggregates from the state table's keys (`<type>#<id>`), in the Scan's order, from just
 * after `afterKey` when given (a Scan resumes after any key it is given as ExclusiveStartKey), with the
 * end of each page (`LastEvaluatedKey`: everything before it was looked at; undefined on the last page).
 */
async function* aggregateIds(
  deps: ArchiverDeps,
  stateTable: string,
  type: string,
  afterKey: string,
): AsyncGenerator<{ key: string; aggregateId: string } | { pageEnd: string | undefined }> {
  const pages = paginateScan(
    { client: deps.client },
    {
      TableName: stateTable,
      ProjectionExpression: 'pk',
      FilterExpression: 'begins_with(pk, :type)',
      ExpressionAttributeValues: { ':type': `${type}#` },
      ...(afterKey ? { ExclusiveStartKey: { pk: afterKey } } : {}),
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const key = String(item.pk);
      yield { key, aggregateId: key.slice(type.length + 1) };
    }
    const end = page.LastEvaluatedKey?.pk;
    yield { pageEnd: typeof end === 'string' ? end : undefined };
  }
}
