import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { HybridLogicalClock } from '../clock/clock.ts';
import { encodeHlc } from '../clock/hlc.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { aggregateKey } from '../store/keys.ts';

/** Aggregate type of heartbeats (a platform type: no aggregate definition, never folded). */
export const HEARTBEAT_AGGREGATE = '_heartbeat';
/** Event type of heartbeats. */
export const HEARTBEAT_TYPE = 'Heartbeat';
/**
 * Sort key of the single heartbeat row per origin. The row is overwritten on every tick, so the log
 * holds only the latest heartbeat; the overwrite shows up on the stream as MODIFY, which the publisher
 * forwards for heartbeats only. The row has no `ppk`, so it stays out of the by-partition index (repair).
 */
export const HEARTBEAT_SORT_KEY = 'HEARTBEAT';

/** The oldest unpublished HLC a heartbeat announces, if any. */
export function unpublishedFrom(heartbeat: EventEnvelope): string | undefined {
  const value = heartbeat.payload.unpublishedFrom;
  return typeof value === 'string' ? value : undefined;
}

/** True for a heartbeat envelope (or item). */
export function isHeartbeat(event: { aggregateType?: unknown }): boolean {
  return event.aggregateType === HEARTBEAT_AGGREGATE;
}

/**
 * A heartbeat from `region`, stamped now. `unpublishedFrom`: the oldest local event the publisher has not
 * managed to publish (see PublishHolds); a peer then keeps its watermark from `region` below it.
 */
export function heartbeatEnvelope(
  region: string,
  clock: HybridLogicalClock,
  unpublishedFrom?: string,
): EventEnvelope {
  const eventId = ulid();
  return {
    eventId,
    aggregateType: HEARTBEAT_AGGREGATE,
    aggregateId: region,
    partition: 0,
    seq: 1,
    type: HEARTBEAT_TYPE,
    schemaVersion: 1,
    payload: unpublishedFrom ? { unpublishedFrom } : {},
    origin: region,
    hlc: encodeHlc(clock.now()),
    epoch: 0,
    prev: null,
    vv: {},
    correlationId: eventId,
    causationId: eventId,
  };
}

export interface HeartbeatWriterOptions {
  readonly client: DynamoDBDocumentClient;
  /** The LOCAL events table: heartbeats travel the same pipeline as events. */
  readonly tableName: string | (() => string);
}

/** Writes heartbeats into the local events table (one row per origin, overwritten). */
export class HeartbeatWriter {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: HeartbeatWriterOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** Overwrites this origin's heartbeat row; the stream carries it to the publisher. */
  async write(heartbeat: EventEnvelope): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table(),
        Item: {
          pk: aggregateKey(HEARTBEAT_AGGREGATE, heartbeat.aggregateId),
          sk: HEARTBEAT_SORT_KEY,
          ...heartbeat,
        },
      }),
    );
  }
}
