/**
 * What the sandbox's AWS calls amount to, per service, caller and operation: the figures a cost model
 * multiplies by prices (requests, items, bytes), and how many IAM refused.
 *
 * - `requests`: calls made (a BatchWriteItem of 25 items is one request);
 * - `items`: what the call carries and AWS bills by (batch and transaction members, PutEvents entries;
 *   1 for single-item calls, queries and scans);
 * - `bytes`: the serialized request body (the JSON an SDK sends; for PutEvents the entries' JSON);
 * - `denied`: calls refused with AccessDeniedException (included in `requests`).
 */
export interface CallUsageRow {
  /** IAM service prefix: `dynamodb`, `events`, `lambda`, `states`. */
  readonly service: string;
  /** `us-east-1/api`, `eu-west-1/state-machine/multiactive-dev-Failover`, or `sandbox` (unchecked plumbing). */
  readonly caller: string;
  /** `dynamodb:TransactWriteItems`, `events:PutEvents`, ... */
  readonly operation: string;
  readonly requests: number;
  readonly items: number;
  readonly bytes: number;
  readonly denied: number;
}

/** One call as the counters see it. */
export interface CallRecord {
  readonly service: string;
  /** Undefined for the sandbox's own calls (setup, consistency checks, reports), which IAM does not check. */
  readonly caller: string | undefined;
  readonly operation: string;
  readonly items: number;
  readonly bytes: number;
  readonly denied: boolean;
}

/** The caller label of calls no function made. */
export const SANDBOX_CALLER = 'sandbox';

/** Counters keyed by service, caller and operation. */
export class CallUsage {
  private readonly rows = new Map<string, { -readonly [K in keyof CallUsageRow]: CallUsageRow[K] }>();

  /** Counts one call. */
  record(call: CallRecord): void {
    const caller = call.caller ?? SANDBOX_CALLER;
    const key = `${call.service}\u0000${caller}\u0000${call.operation}`;
    let row = this.rows.get(key);
    if (!row) {
      row = {
        service: call.service,
        caller,
        operation: call.operation,
        requests: 0,
        items: 0,
        bytes: 0,
        denied: 0,
      };
      this.rows.set(key, row);
    }
    row.requests += 1;
    row.items += call.items;
    row.bytes += call.bytes;
    if (call.denied) row.denied += 1;
  }

  /** Every row, sorted by service, caller and operation (copies: later calls do not change them). */
  snapshot(): CallUsageRow[] {
    return [...this.rows.values()]
      .map((row) => ({ ...row }))
      .sort(
        (a, b) =>
          a.service.localeCompare(b.service) ||
          a.caller.localeCompare(b.caller) ||
          a.operation.localeCompare(b.operation),
      );
  }

  /** Calls IAM checked (made by a function, state machine or rule target), denied, and the sandbox's own. */
  totals(): { checked: number; denied: number; unattributed: number } {
    let checked = 0;
    let denied = 0;
    let unattributed = 0;
    for (const row of this.rows.values()) {
      if (row.caller === SANDBOX_CALLER) unattributed += row.requests;
      else checked += row.requests;
      denied += row.denied;
    }
    return { checked, denied, unattributed };
  }
}
