import { paginateScan } from '@aws-sdk/lib-dynamodb';
import type { Topology } from '../config/schema.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { type ArchiverDeps, archiveAggregate } from './archiver.ts';
import { ArchiverNotHomeError } from './errors.ts';

export interface ArchiveSweepInput {
  readonly topology: Pick<Topology, 'aggregates'>;
  readonly registry: AggregateRegistry;
  /** The state table, whose rows name every aggregate of the region. */
  readonly stateTable: string;
  readonly now: number;
}

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
}

/**
 * One region's archive pass (the job a schedule runs): every aggregate of every type with a
 * `lifecycle.retentionDays`, found by a keys-only Scan of the state table, archived one by one. A failure
 * is reported and the pass goes on: the next pass retries it, and nothing is deleted that was not archived.
 * @example await archiveSweep(deps, { topology, registry, stateTable, now: Date.now() })
 */
export async function archiveSweep(
  deps: ArchiverDeps,
  input: ArchiveSweepInput,
): Promise<ArchiveSweepReport> {
  const types: Record<string, { aggregates: number; archived: number; homedElsewhere?: number }> = {};
  const failures: Array<{ aggregate: string; error: string }> = [];
  for (const configured of input.topology.aggregates) {
    const retentionDays = configured.lifecycle?.retentionDays;
    if (retentionDays === undefined) continue;
    const aggregate = input.registry.get(configured.type);
    const totals = { aggregates: 0, archived: 0 };
    let homedElsewhere = 0;
    for await (const aggregateId of aggregateIds(deps, input.stateTable, configured.type)) {
      totals.aggregates++;
      try {
        const run = await archiveAggregate(deps, aggregate, { aggregateId, retentionDays, now: input.now });
        totals.archived += run.archived;
      } catch (error) {
        // Every region's state table names the aggregate; only its home archives it (not a failure).
        if (error instanceof ArchiverNotHomeError) {
          homedElsewhere++;
          continue;
        }
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        failures.push({ aggregate: `${configured.type}#${aggregateId}`, error: message });
      }
    }
    types[configured.type] = homedElsewhere > 0 ? { ...totals, homedElsewhere } : totals;
  }
  return { types, failures };
}

/** Ids of a type's aggregates from the state table's keys (`<type>#<id>`). */
async function* aggregateIds(deps: ArchiverDeps, stateTable: string, type: string): AsyncGenerator<string> {
  const pages = paginateScan(
    { client: deps.client },
    {
      TableName: stateTable,
      ProjectionExpression: 'pk',
      FilterExpression: 'begins_with(pk, :type)',
      ExpressionAttributeValues: { ':type': `${type}#` },
    },
  );
  for await (const page of pages)
    for (const item of page.Items ?? []) yield String(item.pk).slice(type.length + 1);
}
