import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { type CoreDrainDeps, settleParked } from './core-drain.ts';

export interface ParkedSweepDeps extends CoreDrainDeps {
  readonly registry: AggregateRegistry;
}

/** What one sweep did. */
export interface ParkedSweepReport {
  /** Aggregates the parking index listed. */
  readonly aggregates: number;
  /** Events appended (drained or fetched) by the sweep, for the watermarks. */
  readonly appended: EventEnvelope[];
  /** Aggregates that still have parked events (a gap younger than the timeout, another branch, an origin down). */
  readonly stillParked: number;
  /** Why settling an aggregate threw (e.g. its origin could not be read); it is tried again next sweep. */
  readonly errors: string[];
}

/**
 * Settles every aggregate with parked core events, whether or not another event of it arrives: drains what
 * now extends the row, and fetches a gap from the origin once it is older than the gap timeout. The applier
 * runs it on its idle path (see createApplier), so a parked event never waits for traffic.
 */
export async function sweepParked(deps: ParkedSweepDeps): Promise<ParkedSweepReport> {
  const entries = await deps.parking.parkedAggregates();
  const appended: EventEnvelope[] = [];
  let stillParked = 0;
  const errors: string[] = [];
  for (const entry of entries) {
    if (!deps.registry.has(entry.aggregateType)) continue;
    try {
      const settled = await settleParked(deps, deps.registry.get(entry.aggregateType), entry.aggregateId);
      appended.push(...settled.appended);
      if (!(await deps.parking.forgetIfDrained(entry))) stillParked++;
    } catch (error) {
      stillParked++;
      errors.push(`${entry.aggregateType} ${entry.aggregateId}: ${(error as Error).message}`);
    }
  }
  return { aggregates: entries.length, appended, stillParked, errors };
}
