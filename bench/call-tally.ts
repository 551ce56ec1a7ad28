/** AWS calls the sandbox counted between two snapshots, per region and function (pure: the cost bench and its test use it). */
import { comparedFunction } from '../lib/cost/measured.ts';
import type { CallUsageRow } from '../lib/sandbox/iam/usage.ts';

/** Requests (and items) of one service, operation and function in one region. */
export interface CallTally {
  readonly region: string;
  /** `applier`, `publisher`, `api`, `forward-rule`, ... (lib/cost/measured.ts `comparedFunction`). */
  readonly fn: string;
  readonly service: string;
  readonly operation: string;
  readonly requests: number;
  readonly items: number;
}

/** The calls made between two usage snapshots, attributed to region and function; unattributed rows dropped. */
export function tallyBetween(before: readonly CallUsageRow[], after: readonly CallUsageRow[]): CallTally[] {
  const key = (r: CallUsageRow) => `${r.service}\u0000${r.caller}\u0000${r.operation}`;
  const earlier = new Map(before.map((r) => [key(r), r]));
  const out: CallTally[] = [];
  for (const row of after) {
    const fn = comparedFunction(row);
    if (fn === undefined) continue;
    const was = earlier.get(key(row));
    const requests = row.requests - (was?.requests ?? 0);
    if (requests === 0) continue;
    out.push({
      region: row.caller.split('/')[0] ?? '',
      fn,
      service: row.service,
      operation: row.operation,
      requests,
      items: row.items - (was?.items ?? 0),
    });
  }
  return out;
}

/** Sum of requests (or items) of the tallies that match. */
export function sumOf(
  tallies: readonly CallTally[],
  match: Partial<Pick<CallTally, 'region' | 'fn' | 'service' | 'operation'>>,
  field: 'requests' | 'items' = 'requests',
): number {
  return tallies
    .filter((t) => Object.entries(match).every(([k, v]) => t[k as keyof CallTally] === v))
    .reduce((sum, t) => sum + t[field], 0);
}
