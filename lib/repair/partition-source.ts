import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  paginateScan,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { partitionIndexKey } from '../store/keys.ts';
import { fromEventItem } from '../store/marshal.ts';
import type { StateRecord } from '../store/state-store.ts';
import { EVENTS_BY_PARTITION_INDEX } from '../store/tables.ts';
import type { EventLeaf, RowLeaf } from './merkle.ts';
import { rowDigest } from './rows.ts';

/** What repair reads from one region: the leaves of a partition and full events by id. */
export interface PartitionEventSource {
  listLeaves(partition: number): Promise<EventLeaf[]>;
  getEvents(partition: number, eventIds: readonly string[]): Promise<EventEnvelope[]>;
  /** Digests of the projection rows of the given aggregates (`type#id`); absent rows are left out. */
  listRows?(aggregateKeys: readonly string[]): Promise<RowLeaf[]>;
  /** Partitions holding at least one event (one keys-only pass over the index), when the source can tell. */
  activePartitions?(): Promise<number[]>;
}

/** Aggregate types that are not part of the replicated log (heartbeats are per-origin, overwritten). */
const EXCLUDED_AGGREGATES = new Set(['_heartbeat']);

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_KEYS = 100;

const resolve = (name: string | (() => string)) => (typeof name === 'string' ? () => name : name);

/** Reads a region's events table through its events-by-partition index (and its state rows, when given). */
export class DynamoPartitionSource implements PartitionEventSource {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;
  private readonly stateTable: (() => string) | undefined;
  private readonly concurrency: number;
  private readonly pastRetention: ((aggregateType: string, hlc: string) => boolean) | undefined;

  constructor(options: {
    client: DynamoDBDocumentClient;
    tableName: string | (() => string);
    /** The state table: with it, the trees cover projection rows too (see buildMerkleTree). */
    stateTableName?: string | (() => string);
    concurrency?: number;
    /**
     * Events past their type's retention horizon (lib/lifecycle `pastRetention`): left out of the leaves
     * only under the switch `merkle-skips-past-retention`. Leaves are unfiltered: an archived event keeps
     * its item (a stub with its eventId), so a region that archived it and one that did not compare equal,
     * and a returning region's orphans older than the retention window are still found.
     */
    pastRetention?: ((aggregateType: string, hlc: string) => boolean) | undefined;
  }) {
    this.client = options.client;
    this.table = resolve(options.tableName);
    this.stateTable = options.stateTableName === undefined ? undefined : resolve(options.stateTableName);
    this.concurrency = options.concurrency ?? 16;
    this.pastRetention = options.pastRetention;
  }

  /**
   * Every event id of the partition with its aggregate key and core seq (keys only: cheap), archived stubs
   * included (an archived event still holds its slot).
   */
  async listLeaves(partition: number): Promise<EventLeaf[]> {
    const leaves: EventLeaf[] = [];
    const pages = this.partitionPages(partition, 'eventId, pk, sk, aggregateType, hlc');
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (EXCLUDED_AGGREGATES.has(String(item.aggregateType))) continue;
        const past = this.pastRetention?.(String(item.aggregateType), String(item.hlc));
        if (past && bugEnabled('merkle-skips-past-retention')) continue;
        const sk = String(item.sk);
        leaves.push({
          eventId: String(item.eventId),
          aggregateKey: String(item.pk),
          ...(sk.startsWith('SEQ#') ? { seq: Number(sk.slice(4)) } : {}),
        });
      }
    }
    return leaves;
  }

  /** Row digests of the given aggregates, 100 keys per BatchGetItem (unprocessed keys asked again). */
  async listRows(aggregateKeys: readonly string[]): Promise<RowLeaf[]> {
    const table = this.stateTable?.();
    if (!table) return [];
    const rows: RowLeaf[] = [];
    const keys = [...new Set(aggregateKeys)];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }> | undefined =
        { [table]: { Keys: keys.slice(i, i + BATCH_GET_KEYS).map((pk) => ({ pk })), ConsistentRead: true } };
      while (request && Object.keys(request).length > 0) {
        const answer = await this.client.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of answer.Responses?.[table] ?? [])
          rows.push({ aggregateKey: String(item.pk), digest: rowDigest(item as unknown as StateRecord) });
        request = answer.UnprocessedKeys as typeof request;
      }
    }
    return rows;
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
   * Full envelopes for the given ids (an archived stub is left out: its payload is in this region's archive,
   * and a replay must come from a region that holds it whole). A few ids: one index query each, a bounded number at a time. Many:
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
    return pages.flatMap((page) =>
      (page.Items ?? []).map((item) => fromEventItem(item)).filter((event) => !isArchivedStub(event)),
    );
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
        if (wanted.has(String(item.eventId)) && !isArchivedStub(item)) found.push(fromEventItem(item));
    }
    return found;
  }
}
