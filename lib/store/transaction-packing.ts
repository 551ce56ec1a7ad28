import type { TransactItem } from './event-store.ts';
import { DYNAMODB_LIMITS, itemMeasure } from './item-size.ts';

/**
 * What one TransactWriteItems may carry when it groups several aggregates' writes (Repair's batched
 * delivery, the ordinary lane's packed runs): 100 items; 4,000,000 bytes of items, every item counted as
 * DynamoDB counts it plus ITEM_MARGIN (under the 4 MB, 4,194,304 bytes, DynamoDB takes); 15,000,000 bytes
 * of request (DynamoDB JSON, under its 16 MB body).
 */
export const GROUPED_TRANSACTION_LIMITS = {
  items: DYNAMODB_LIMITS.transactItems,
  bytes: 4_000_000,
  wire: 15_000_000,
} as const;

/** Per item, beyond its attributes: table name, condition, expression names and values. */
export const TRANSACT_ITEM_MARGIN = 1024;

/** A share of a grouped transaction: its items, their size as DynamoDB counts it, their bytes on the wire. */
export interface TransactionWeight {
  readonly items: number;
  readonly bytes: number;
  readonly wire: number;
}

/**
 * What transaction items weigh: each item's size as DynamoDB counts it (a Put's item, the key of a check,
 * with its expression values) plus TRANSACT_ITEM_MARGIN, and its bytes on the wire likewise.
 */
export function weighTransactItems(items: readonly TransactItem[]): TransactionWeight {
  let bytes = 0;
  let wire = 0;
  for (const item of items) {
    const attributes = (item.Put?.Item ??
      item.Update?.Key ??
      item.Delete?.Key ??
      item.ConditionCheck?.Key ??
      {}) as Record<string, unknown>;
    const values = (item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck)?.ExpressionAttributeValues;
    const m = itemMeasure(values ? { ...attributes, ...values } : attributes);
    bytes += m.size + TRANSACT_ITEM_MARGIN;
    wire += m.wire + TRANSACT_ITEM_MARGIN;
  }
  return { items: items.length, bytes, wire };
}

/**
 * Entries packed, in order, into transactions within GROUPED_TRANSACTION_LIMITS (an entry over them alone
 * gets a transaction of its own: its caller decides what to do with it).
 * @example packTransactions(plans, (p) => p.weight) // [[p1, p2, ...], [p51, ...]]
 */
export function packTransactions<T>(entries: readonly T[], weightOf: (entry: T) => TransactionWeight): T[][] {
  const limits = GROUPED_TRANSACTION_LIMITS;
  const packed: T[][] = [];
  let current: T[] = [];
  let items = 0;
  let bytes = 0;
  let wire = 0;
  for (const entry of entries) {
    const w = weightOf(entry);
    if (
      current.length > 0 &&
      (items + w.items > limits.items || bytes + w.bytes > limits.bytes || wire + w.wire > limits.wire)
    ) {
      packed.push(current);
      current = [];
      items = 0;
      bytes = 0;
      wire = 0;
    }
    current.push(entry);
    items += w.items;
    bytes += w.bytes;
    wire += w.wire;
  }
  if (current.length > 0) packed.push(current);
  return packed;
}
