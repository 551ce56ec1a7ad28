/**
 * DynamoDB's limits on a write request, and the two measures it applies to one: the item size (what the
 * 400 KB item and 4 MB transaction limits count) and the item's size on the wire (DynamoDB JSON, what the
 * 16 MB request limit counts). Neither is the JSON length of the document: `[1,1,1]` is 7 bytes of JSON,
 * about 9 as an item and 37 on the wire.
 */
export const DYNAMODB_LIMITS = {
  /** TransactWriteItems: items per transaction. */
  transactItems: 100,
  /** TransactWriteItems: aggregate item size of a transaction (4 MB). */
  transactBytes: 4 * 1024 * 1024,
  /** Any request: the HTTP body (16 MB). */
  requestBytes: 16 * 1024 * 1024,
  /** One item (400 KB). */
  itemBytes: 400 * 1024,
  /** BatchWriteItem: items per call. */
  batchWriteItems: 25,
} as const;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Significant digits of a number as DynamoDB stores it (leading and trailing zeroes trimmed). */
function significantDigits(n: number): number {
  const mantissa = Math.abs(n).toExponential().split('e')[0] ?? '0';
  return Math.max(1, mantissa.replace('.', '').replace(/0+$/, '').length);
}

/** A value's size and wire bytes. */
interface Measure {
  size: number;
  wire: number;
}

/**
 * The size of one attribute value as DynamoDB counts it (a number: 1 byte per two significant digits plus
 * 1; a list or map: 3 bytes plus 1 per element, a map's keys counted as names) and its DynamoDB JSON bytes
 * (`{"N":"1"}`, `{"L":[...]}`, ...).
 */
function measureValue(value: unknown): Measure {
  if (typeof value === 'string') return { size: utf8(value), wire: utf8(JSON.stringify(value)) + 6 };
  if (typeof value === 'number' || typeof value === 'bigint') {
    const text = String(value);
    return { size: Math.ceil(significantDigits(Number(value)) / 2) + 1, wire: text.length + 8 };
  }
  if (typeof value === 'boolean') return { size: 1, wire: value ? 13 : 14 };
  if (value === null || value === undefined) return { size: 1, wire: 13 };
  if (value instanceof Uint8Array)
    return { size: value.byteLength, wire: Math.ceil(value.byteLength / 3) * 4 + 8 };
  if (Array.isArray(value) || value instanceof Set) {
    let size = 3;
    let wire = 8;
    let elements = 0;
    for (const element of value) {
      const m = measureValue(element);
      size += m.size + 1;
      wire += m.wire;
      elements += 1;
    }
    return { size, wire: wire + Math.max(0, elements - 1) };
  }
  const map = measureMap(value as Record<string, unknown>);
  return { size: map.size + 3, wire: map.wire + 6 };
}

/**
 * A map's attributes (names plus values; a map value adds 1 byte per element on top) and its DynamoDB
 * JSON object's bytes (`{"name":value,...}`: a colon per attribute, a comma between two).
 */
function measureMap(item: Record<string, unknown>): Measure {
  let size = 0;
  let wire = 2;
  let attributes = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    const m = measureValue(value);
    size += utf8(name) + m.size + 1;
    wire += utf8(JSON.stringify(name)) + 1 + m.wire;
    attributes += 1;
  }
  return { size, wire: wire + Math.max(0, attributes - 1) };
}

/**
 * An item's size as DynamoDB counts it (attribute names plus values; an upper bound within a few bytes)
 * and its bytes in the request (DynamoDB JSON, exactly as `JSON.stringify(marshall(item))` has them).
 * @example itemMeasure({ pk: "a", n: 1 }) // { size: 8, wire: 30 }
 */
export function itemMeasure(item: Record<string, unknown>): { size: number; wire: number } {
  return measureMap(item);
}
