import { EPOCH_NO_OP } from '../commands/epoch-no-op.ts';
import type { Anomaly } from './anomaly.ts';
import type { Operation } from './history.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** What the cause check reads: the run's stores, its client operations and the workload's setup. */
export interface TransferCausesInput {
  readonly regions: readonly RegionSnapshot[];
  /** Client operations by key; a transfer request is `transfer/<idempotency key>` with that key as op id. */
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  /** The transfer accounts. */
  readonly accounts: readonly string[];
  /** Op ids of the commands that opened and funded the transfer accounts before any transfer. */
  readonly setupOpIds: ReadonlySet<string>;
}

/** Events that only a saga's steps write on an account: each names its transfer in `transferId`. */
const STEP_EVENTS = new Set(['HoldPlaced', 'HoldSettled', 'HoldReleased', 'TransferCredited']);
/** Events the workload's setup writes on an account. */
const SETUP_EVENTS = new Set(['AccountOpened', 'Deposited']);

/** Op ids of the clients' transfer requests (a retry with the same key is the same request). */
function transferRequests(operations: TransferCausesInput['operations']): Set<string> {
  const ids = new Set<string>();
  for (const [key, ops] of operations) {
    if (!key.startsWith('transfer/')) continue;
    for (const op of ops) if (op.opId) ids.add(op.opId);
  }
  return ids;
}

/** Transfers begun by a client request, in any region's log (a region's copy may lag). */
function begunByClients(regions: readonly RegionSnapshot[], requests: ReadonlySet<string>): Set<string> {
  const begun = new Set<string>();
  for (const region of regions)
    for (const e of region.events)
      if (e.aggregateType === 'transfer' && e.type === 'SagaBegun' && requests.has(e.causationId ?? ''))
        begun.add(e.aggregateId);
  return begun;
}

type Causes = { begun: ReadonlySet<string>; requests: ReadonlySet<string>; setup: ReadonlySet<string> };

/** Why an event of a transfer is not accounted for, or null when it is. */
function unaccountedTransferEvent(event: StoredEvent, input: Causes): string | null {
  const cause = event.causationId ?? '';
  // A home's epoch no-op under a repeated begin names the client's request, under a step the transfer.
  if (event.type === EPOCH_NO_OP && input.requests.has(cause))
    return input.begun.has(event.aggregateId) ? null : 'a transfer no client request began';
  if (event.type === 'SagaBegun')
    return input.requests.has(cause) ? null : `begun by ${cause || 'no op id'}, no client's transfer request`;
  if (cause !== event.aggregateId) return `caused by ${cause || 'no op id'}, not by its own transfer`;
  return input.begun.has(cause) ? null : 'a transfer no client request began';
}

/** Why an event is not accounted for, or null when it is. */
function unaccounted(event: StoredEvent, input: Causes): string | null {
  if (event.aggregateType === 'transfer') return unaccountedTransferEvent(event, input);
  const cause = event.causationId ?? '';
  if (SETUP_EVENTS.has(event.type) && input.setup.has(cause)) return null;
  if (STEP_EVENTS.has(event.type) && input.begun.has(cause) && event.payload.transferId === cause)
    return null;
  // A home's epoch no-op, written under a step that found its work done: caused by that step's transfer.
  if (event.type === EPOCH_NO_OP && input.begun.has(cause)) return null;
  return `${event.type} caused by ${cause || 'no op id'}: neither the account's setup nor a step of a transfer a client began`;
}

/**
 * Every event of the transfer workload traced to its cause by its causationId, as the core checker maps
 * events to client operations by op id: a transfer's `SagaBegun` to the client request that began it (its
 * idempotency key), the transfer's other events to the transfer itself, a saga step on an account (hold
 * placed, settled or released, credit) to a transfer a client began and whose id the step names (a home's
 * epoch no-op written under a step: to that step's transfer), and an
 * account's opening and funding to the workload's setup. Any other event is a `phantom-write`.
 */
export function checkTransferCauses(input: TransferCausesInput): Anomaly[] {
  const requests = transferRequests(input.operations);
  const context = {
    requests,
    begun: begunByClients(input.regions, requests),
    setup: input.setupOpIds,
  };
  const accounts = new Set(input.accounts);
  const found: Anomaly[] = [];
  for (const region of input.regions) {
    for (const event of region.events) {
      const ours =
        event.aggregateType === 'transfer' ||
        (event.aggregateType === 'account' && accounts.has(event.aggregateId));
      const why = ours ? unaccounted(event, context) : null;
      if (why)
        found.push({
          checker: 'transfers',
          kind: 'phantom-write',
          key: `${event.aggregateType}/${event.aggregateId}`,
          region: region.region,
          message: `${event.eventId} (seq ${event.seq}): ${why}`,
        });
    }
  }
  return found;
}
