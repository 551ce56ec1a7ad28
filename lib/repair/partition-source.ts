import {
  type DynamoDBDocumentClient,
  paginateQuery,
  paginateScan,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../model/envelope.ts';
import { partitionIndexKey } from '../store/keys.ts';
import { fromEventItem } from '../store/marshal.ts';
import { EVENTS_BY_PARTITION_INDEX } from '../store/tables.ts';
import type { EventLeaf } from './merkle.ts';

/** What repair reads from one region: the leaves of a partition and full events by id. */
export interface PartitionEventSource {
  listLeaves(partition: number): Promise<EventLeaf[]>;
  getEvents(partition: number, eventIds: readonly string[]): Promise<EventEnvelope[]>;
  /** Partitions holding at least one event (one keys-only pass over the index), when the source can tell. */
  activePartitions?(): Promise<number[]>;
}

/** Aggregate types that are not part of the replicated log (heartbeats are per-origin, overwritten). */
const EXCLUDED_AGGREGATES = new Set(['_heartbeat']);

/** Reads a region's events table through its events-by-partition index. */
export class DynamoPartitionSource implements PartitionEventSource {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;
  private readonly concurrency: number;

  constructor(options: {
    client: DynamoDBDocumentClient;
    tableName: string | (() => string);
    concurrency?: number;
  }) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
    this.concurrency = options.concurrency ?? 16;
  }

  /** Every event id of the partition with its aggregate key (keys only: cheap). */
  async listLeaves(partition: number): Promise<EventLeaf[]> {
    const leaves: EventLeaf[] = [];
    const pages = this.partitionPages(partition, 'eventId, pk, aggregateType');
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (EXCLUDED_AGGREGATES.has(String(item.aggregateType))) continue;
        leaves.push({ eventId: String(item.eventId), aggregateKey: String(item.pk) });
      }
    }
    return leaves;
  }

  /**
   * Partitions that hold at least one event: one keys-only Scan of the sparse by-partition index, far
   * cheaper than a Query per configured partition when most partitions are empty.
   */
  async activePartitions(): Promise<number[]> {
    const found = new Set<number>();
    const pages = paginateScan(
      { client: this.client },
      { TableName: this.table(), IndexName: EVENTS_BY_PARTITION_INDEX, ProjectionExpression: 'ppk' },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) found.add(Number(String(item.ppk).slice(2)));
    }
    return [...found].filter(Number.isInteger).sort((a, b) => a - b);
  }

  /**
   * Full envelopes for the given ids. A few ids: one index query each, a bounded number at a time. Many:
   * one paginated query over the whole partition, keeping the wanted ones (a region that missed a stretch
   * of events lacks most of a partition, and one sequential read beats hundreds of point queries).
   */
  async getEvents(partition: number, eventIds: readonly string[]): Promise<EventEnvelope[]> {
    if (eventIds.length > this.concurrency) return this.scanPartitionFor(partition, new Set(eventIds));
    const pages = await Promise.all(
      eventIds.map((eventId) =>
        this.client.send(
          new QueryCommand({
            TableName: this.table(),
            IndexName: EVENTS_BY_PARTITION_INDEX,
            KeyConditionExpression: 'ppk = :p AND eventId = :id',
            ExpressionAttributeValues: { ':p': partitionIndexKey(partition), ':id': eventId },
          }),
        ),
      ),
    );
    return pages.flatMap((page) => (page.Items ?? []).map((item) => fromEventItem(item)));
  }

  /** Pages of the partition index for one partition (every attribute, or only `projection`). */
  private partitionPages(partition: number, projection?: string) {
    return paginateQuery(
      { client: this.client },
      {
        TableName: this.table(),
        IndexName: EVENTS_BY_PARTITION_INDEX,
        KeyConditionExpression: 'ppk = :p',
        ExpressionAttributeValues: { ':p': partitionIndexKey(partition) },
        ...(projection ? { ProjectionExpression: projection } : {}),
      },
    );
  }

  private async scanPartitionFor(partition: number, wanted: ReadonlySet<string>): Promise<EventEnvelope[]> {
    const found: EventEnvelope[] = [];
    const pages = this.partitionPages(partition);
    for await (const page of pages) {
      for (const item of page.Items ?? [])
        if (wanted.has(String(item.eventId))) found.push(fromEventItem(item));
    }
    return found;
  }
}
