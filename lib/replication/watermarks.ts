import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeHlc, encodeHlc, MAX_LOGICAL } from '../clock/hlc.ts';
import { bugEnabled } from '../faults/index.ts';

/** Partition of the watermark rows in the replication table (sort key = origin region). */
export const WATERMARK_KEY = 'WATERMARK';
/** Sort-key prefix of the row keeping what an origin's newest heartbeat said it has not published. */
const HOLD_PREFIX = 'HOLD#';

/** The newest HLC applied here from one origin (events or heartbeats). */
export interface Watermark {
  readonly origin: string;
  /**
   * Encoded HLC: the newest applied, but never at or past an event the origin announced it has not
   * published (`heldFrom`): lag and the RPO window never look better than they are.
   */
  readonly hlc: string;
  /** Physical part of `hlc` in epoch ms. */
  readonly wall: number;
  /** When it was applied (ISO). */
  readonly appliedAt: string;
  /** The oldest event the origin's newest heartbeat said it has not published (a stream DLQ), if any. */
  readonly heldFrom?: string;
}

/** The encoded HLC just before `hlc` (same region): the highest a watermark held below it may show. */
function justBefore(hlc: string): string {
  const { wall, logical, region } = decodeHlc(hlc);
  return logical > 0
    ? encodeHlc({ wall, logical: logical - 1, region })
    : encodeHlc({ wall: wall - 1, logical: MAX_LOGICAL, region });
}

/** Replication lag from an origin: now minus the wall time of the newest HLC applied from it. */
export function lagMs(now: number, watermark: Pick<Watermark, 'hlc'> | undefined): number | null {
  if (!watermark) return null;
  return Math.max(0, now - decodeHlc(watermark.hlc).wall);
}

export interface WatermarkStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** Advances of one origin waiting for the next write. */
interface PendingAdvance {
  hlc: string;
  appliedAt: Date;
  readonly waiters: Array<{
    hlc: string;
    resolve: (advanced: boolean) => void;
    reject: (error: unknown) => void;
  }>;
}

/**
 * Watermarks per origin in the replication table; `advance` is a monotonic max. Advances of one origin
 * are group-committed: while a write is in flight, later advances merge into the next single write, and
 * each caller resolves only once a watermark at least as new as its own is stored (never before: a
 * watermark must not claim an event it has not seen applied). An advance at or below a watermark this
 * process already saw stored (its own writes, and the stored one a refused write returns: another
 * instance's) costs no request; one at or below the write in flight waits for that write
 * (deliveries finishing out of HLC order would otherwise queue a second write the condition refuses).
 * Concurrent advances in one store (a lane batch's origins and its inner per-event applier; a Lambda
 * instance, and the sandbox's instances, apply one invocation at a time) thus pay about one write per
 * round trip instead of one per event.
 */
export class WatermarkStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;
  /** Per `table|origin`: highest HLC known stored (the stored one is >= it, whoever else writes). */
  private readonly known = new Map<string, string>();
  private readonly pending = new Map<string, PendingAdvance>();
  /** Per `table|origin`: the write in flight, which an advance at or below its HLC waits for. */
  private readonly inFlight = new Map<string, PendingAdvance>();
  private readonly flushing = new Set<string>();

  constructor(options: WatermarkStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /**
   * Moves the origin's watermark to `hlc` if it is newer; resolves once a watermark at least `hlc` is
   * stored, true when it moved there from below, false when it already was at least `hlc`.
   */
  advance(origin: string, hlc: string, appliedAt: Date): Promise<boolean> {
    const table = this.table();
    const key = `${table}|${origin}`;
    const known = this.known.get(key);
    if (known !== undefined && known >= hlc) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      // Covered by the write in flight: its success stores a watermark at least this new, so waiting for
      // it is enough (queuing another write would cost a request and a round trip for nothing).
      const flying = this.inFlight.get(key);
      if (flying && (hlc <= flying.hlc || bugEnabled('watermark-waits-on-older-write'))) {
        flying.waiters.push({ hlc, resolve, reject });
        return;
      }
      let next = this.pending.get(key);
      if (!next) {
        next = { hlc, appliedAt, waiters: [] };
        this.pending.set(key, next);
      } else if (hlc > next.hlc) {
        next.hlc = hlc;
        next.appliedAt = appliedAt;
      }
      next.waiters.push({ hlc, resolve, reject });
      if (!this.flushing.has(key)) void this.flush(key, table, origin);
    });
  }

  /** Writes the pending advances of one origin, one write at a time, until none is left. */
  private async flush(key: string, table: string, origin: string): Promise<void> {
    this.flushing.add(key);
    try {
      for (let batch = this.pending.get(key); batch; batch = this.pending.get(key)) {
        this.pending.delete(key);
        this.inFlight.set(key, batch);
        const before = this.known.get(key);
        try {
          const { advanced, stored } = await this.write(table, origin, batch).finally(() =>
            this.inFlight.delete(key),
          );
          // Written, or refused because the stored one is at least as new: stored >= batch.hlc either way;
          // a refusal names the stored one (another instance's newer write), which later advances below it
          // then need not repeat.
          const atLeast = stored !== undefined && stored > batch.hlc ? stored : batch.hlc;
          const known = this.known.get(key);
          if (known === undefined || atLeast > known) this.known.set(key, atLeast);
          for (const waiter of batch.waiters) {
            waiter.resolve(advanced && (before === undefined || waiter.hlc > before));
          }
        } catch (error) {
          for (const waiter of batch.waiters) waiter.reject(error);
        }
      }
    } finally {
      this.flushing.delete(key);
    }
  }

  /** The conditional write; a refusal returns the watermark stored (ALL_OLD), at least `batch.hlc`. */
  private async write(
    table: string,
    origin: string,
    batch: PendingAdvance,
  ): Promise<{ advanced: boolean; stored?: string }> {
    const { hlc, appliedAt } = batch;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: WATERMARK_KEY, sk: origin },
          UpdateExpression: 'SET hlc = :hlc, wall = :wall, appliedAt = :at, origin = :origin',
          // Encoded HLCs of one origin compare as strings in logical order.
          ConditionExpression: 'attribute_not_exists(hlc) OR hlc < :hlc',
          ExpressionAttributeValues: {
            ':hlc': hlc,
            ':wall': decodeHlc(hlc).wall,
            ':at': appliedAt.toISOString(),
            ':origin': origin,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { advanced: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const stored = error.Item?.hlc?.S;
      return { advanced: false, ...(stored !== undefined && stored >= hlc ? { stored } : {}) };
    }
  }

  /**
   * Records what an origin's heartbeat `by` said about events it has not published: the oldest one's HLC,
   * or null when it published everything. A heartbeat older than the one that last wrote it changes nothing.
   */
  async hold(origin: string, from: string | null, by: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table(),
          Key: { pk: WATERMARK_KEY, sk: `${HOLD_PREFIX}${origin}` },
          UpdateExpression: from ? 'SET heldFrom = :from, heldBy = :by' : 'SET heldBy = :by REMOVE heldFrom',
          ConditionExpression: 'attribute_not_exists(heldBy) OR heldBy < :by',
          ExpressionAttributeValues: { ':by': by, ...(from ? { ':from': from } : {}) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Every origin's watermark, held below any event its origin announced unpublished. */
  async list(): Promise<Watermark[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': WATERMARK_KEY },
        ConsistentRead: true,
      }),
    );
    const items = result.Items ?? [];
    const held = new Map<string, string>();
    for (const item of items)
      if (String(item.sk).startsWith(HOLD_PREFIX) && typeof item.heldFrom === 'string')
        held.set(String(item.sk).slice(HOLD_PREFIX.length), item.heldFrom);
    return items
      .filter((item) => !String(item.sk).startsWith(HOLD_PREFIX) && typeof item.hlc === 'string')
      .map((item) => {
        const origin = String(item.origin);
        const from = held.get(origin);
        const applied = String(item.hlc);
        const hlc = from && applied >= from ? justBefore(from) : applied;
        return {
          origin,
          hlc,
          wall: decodeHlc(hlc).wall,
          appliedAt: String(item.appliedAt),
          ...(from ? { heldFrom: from } : {}),
        };
      });
  }

  /** One origin's watermark, if any event from it was applied. */
  async watermarkFor(origin: string): Promise<Watermark | undefined> {
    return (await this.list()).find((w) => w.origin === origin);
  }
}
