import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { RegionCell } from './ports.ts';

/**
 * Step Functions carries at most 256 KiB of state, and every runbook keeps each task's result at
 * `$.<task>`: a Failover of a few thousand partitions carries per-partition moves, entries and fences
 * several times over (about 480 bytes per moved partition, so ~540 moves, 1,600 partitions in three
 * regions, was the ceiling). A result larger than SPILL_OVER_BYTES is kept in the control table of the
 * region the runbook runs in, in chunks, and the state carries a stub: the result's scalar fields (what
 * Choice states and operators read, e.g. `writableFrom`, `confirmed`), the length of each list, and
 * where the rest is. The dispatcher loads a stub back before a task reads it, so tasks see their inputs
 * as if nothing had been spilled.
 */
export const SPILL_OVER_BYTES = 32 * 1024;

/** Bytes of one chunk item's data (DynamoDB items are at most 400 KB). */
const CHUNK_BYTES = 300 * 1024;

/**
 * Spilled results outlive their execution and its redrive window (Step Functions redrives a failed
 * execution up to 14 days after it ended; runbooks time out within hours), then expire (TTL).
 */
const SPILL_TTL_SECONDS = 15 * 24 * 3600;

const SPILLED = '$spilled';

/** Where a spilled result is: control table of `region`, items `pk`, `chunks` of them. */
export interface SpillRef {
  readonly region: string;
  readonly pk: string;
  readonly chunks: number;
  readonly bytes: number;
}

type Result = Record<string, unknown>;

/** The spilled result's stub, or undefined for a plain value. */
function spillRefOf(value: unknown): SpillRef | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const ref = (value as Result)[SPILLED];
  return typeof ref === 'object' && ref !== null ? (ref as SpillRef) : undefined;
}

/** What stays in the state: scalars as they are, lists as their lengths (`<name>Count`), and the ref. */
function stubOf(result: Result, ref: SpillRef): Result {
  const stub: Result = {};
  for (const [key, value] of Object.entries(result)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) stub[key] = value;
    else if (Array.isArray(value)) stub[`${key}Count`] = value.length;
  }
  return { ...stub, [SPILLED]: ref };
}

/**
 * Keeps big task results out of the state machine's payload (see SPILL_OVER_BYTES): `store` replaces a
 * big result by its stub, `load` puts spilled results of an input back in place.
 */
export class ResultSpill {
  constructor(
    private readonly cell: RegionCell,
    private readonly now: () => number = Date.now,
  ) {}

  /** The result as the state machine should keep it: itself when small, else a stub. */
  async store(result: Result): Promise<Result> {
    const body = JSON.stringify(result);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes <= SPILL_OVER_BYTES) return result;
    const pk = `SPILL#${ulid()}`;
    const expiration = Math.floor(this.now() / 1000) + SPILL_TTL_SECONDS;
    // Cut as bytes (binary items), so no character is split between two chunks' strings.
    const encoded = Buffer.from(body, 'utf8');
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < encoded.length; at += CHUNK_BYTES)
      chunks.push(encoded.subarray(at, at + CHUNK_BYTES));
    const { client, control } = this.cell.tables;
    await Promise.all(
      chunks.map((data, i) =>
        client.send(
          new PutCommand({
            TableName: control,
            Item: { pk, sk: `CHUNK#${String(i).padStart(5, '0')}`, data, expiration },
          }),
        ),
      ),
    );
    return stubOf(result, { region: this.cell.region, pk, chunks: chunks.length, bytes });
  }

  /** The input with every spilled top-level result loaded back (a new object; the input is not changed). */
  async load(input: Result): Promise<Result> {
    const spilled = Object.entries(input).filter(([, value]) => spillRefOf(value) !== undefined);
    if (spilled.length === 0) return input;
    const loaded = await Promise.all(spilled.map(([, value]) => this.read(spillRefOf(value)!)));
    const out = { ...input };
    spilled.forEach(([key], i) => {
      out[key] = loaded[i];
    });
    return out;
  }

  private async read(ref: SpillRef): Promise<unknown> {
    if (ref.region !== this.cell.region)
      throw new Error(`a runbook result was spilled in ${ref.region}; this task runs in ${this.cell.region}`);
    const { client, control } = this.cell.tables;
    const parts: Uint8Array[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: control,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': ref.pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) parts.push(item.data as Uint8Array);
      start = page.LastEvaluatedKey;
    } while (start);
    if (parts.length !== ref.chunks)
      throw new Error(`spilled result ${ref.pk}: ${parts.length} of ${ref.chunks} chunks found (expired?)`);
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  }
}
