import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../model/envelope.ts';
import { REGISTER_SORT_KEY } from '../ownership/dynamodb-replica.ts';
import { partitionKey } from '../ownership/partition-map.ts';
import { coreMarkerPuts } from '../store/core-markers.ts';
import { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import { fromRawEventItem, toEventItem } from '../store/marshal.ts';
import type { BranchRetirer, CopyOutcome, QuorumPeer } from './quorum-peer.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type TableName = string | (() => string);

/** A peer's tables the quorum ack touches (the same names in every region). */
export interface QuorumPeerTables {
  readonly events: TableName;
  /** Where the copy markers live (`quorumMarkerKey`). */
  readonly replication: TableName;
  /** The peer's copy of the partition map, which seals it against a stale writer. */
  readonly control: TableName;
}

/**
 * Partition key of the quorum copy markers of one partition in a region's replication table: one item per
 * aggregate that received copies there (sort key = aggregate key), written in the copy's own transaction,
 * so a consistent query of it lists every aggregate a failover must collect (the by-partition index of the
 * events table is eventually consistent and lists every event, not every aggregate).
 */
export function quorumMarkerKey(partition: number): string {
  return `QCOPY#${partition}`;
}

/** An aggregate that received quorum copies in a region, with the newest copy it received there. */
export interface QuorumMarker {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly seq: number;
  readonly hlc: string;
}

/** The quorum copy markers of one partition in a region (strongly consistent). */
export async function readQuorumMarkers(
  client: DynamoDBDocumentClient,
  replicationTable: string,
  partition: number,
): Promise<QuorumMarker[]> {
  const found: QuorumMarker[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: replicationTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': quorumMarkerKey(partition) },
      ConsistentRead: true,
    },
  );
  for await (const page of pages)
    for (const item of page.Items ?? [])
      found.push({
        aggregateType: String(item.aggregateType),
        aggregateId: String(item.aggregateId),
        seq: Number(item.seq),
        hlc: String(item.hlc),
      });
  return found;
}

const resolve = (name: TableName) => (typeof name === 'string' ? name : name());

/** The transaction of one copy: the events, the predecessor and seal checks, the markers. */
function copyItems(
  tables: QuorumPeerTables,
  events: readonly EventEnvelope[],
  epoch: number,
): TransactItem[] {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const pk = aggregateKey(first.aggregateType, first.aggregateId);
  const items: TransactItem[] = events.map((event) => ({
    Put: {
      TableName: resolve(tables.events),
      Item: toEventItem('core', event),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  }));
  const predecessor: TransactItem = {
    ConditionCheck: {
      TableName: resolve(tables.events),
      Key: { pk, sk: eventSortKey('core', { seq: first.seq - 1, hlc: '' }) },
      ConditionExpression:
        first.prev === null ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND hlc = :prev',
      ...(first.prev === null ? {} : { ExpressionAttributeValues: { ':prev': first.prev } }),
    },
  };
  // Raft's rule, in DynamoDB: a peer stores an event only on top of the writer's own predecessor (no gap,
  // no other branch), and never for a writer whose epoch a failover has sealed it against.
  const seal: TransactItem = {
    ConditionCheck: {
      TableName: resolve(tables.control),
      Key: { pk: partitionKey(first.partition), sk: REGISTER_SORT_KEY },
      ConditionExpression: 'attribute_not_exists(pk) OR epoch <= :epoch',
      ExpressionAttributeValues: { ':epoch': epoch },
    },
  };
  const marker: TransactItem = {
    Put: {
      TableName: resolve(tables.replication),
      Item: {
        pk: quorumMarkerKey(first.partition),
        sk: pk,
        aggregateType: first.aggregateType,
        aggregateId: first.aggregateId,
        seq: last.seq,
        hlc: last.hlc,
        epoch,
        at: new Date().toISOString(),
      },
    },
  };
  // The copy is in the peer's log: the peer's core marker rides along, like every core append's.
  const core = coreMarkerPuts(resolve(tables.replication), [first]);
  return [...items, ...(first.seq > 1 ? [predecessor] : []), seal, marker, ...core];
}

/** Reads a cancelled copy: a conflict, a seal, a missing predecessor, or the events already stored. */
function explain(
  error: TransactionCanceledException,
  events: readonly EventEnvelope[],
): CopyOutcome | { readonly kind: 'partial'; readonly stored: ReadonlySet<string> } | undefined {
  const reasons = error.CancellationReasons ?? [];
  const failed = (i: number) => reasons[i]?.Code === 'ConditionalCheckFailed';
  const stored = new Set<string>();
  for (const [i, event] of events.entries()) {
    if (!failed(i)) continue;
    const item = reasons[i]?.Item as Record<string, AttributeValue> | undefined;
    const existing = item ? fromRawEventItem(item) : undefined;
    if (existing && existing.eventId !== event.eventId) return { kind: 'conflict', existing };
    stored.add(event.eventId);
  }
  const hasPredecessor = events[0]!.seq > 1;
  if (failed(events.length + (hasPredecessor ? 1 : 0))) return { kind: 'sealed' };
  if (hasPredecessor && failed(events.length) && !stored.has(events[0]!.eventId)) return { kind: 'behind' };
  return stored.size > 0 ? { kind: 'partial', stored } : undefined;
}

/**
 * A peer region's tables for the quorum ack, over its DynamoDB client (in the sandbox, one whose calls
 * cross the WAN link).
 * @example const peer = dynamoQuorumPeer({ region: 'eu-west-1', client, tables: { events, replication, control } });
 */
export function dynamoQuorumPeer(options: {
  readonly region: string;
  readonly client: DynamoDBDocumentClient;
  readonly tables: QuorumPeerTables;
  readonly retire?: BranchRetirer;
}): QuorumPeer {
  const { client, tables } = options;
  const events = new EventStore({ client, tableName: tables.events });
  async function copy(batch: readonly EventEnvelope[], writer: { epoch: number }): Promise<CopyOutcome> {
    if (batch.length === 0) return { kind: 'stored' };
    try {
      await client.send(new TransactWriteCommand({ TransactItems: copyItems(tables, batch, writer.epoch) }));
      return { kind: 'stored' };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const outcome = explain(error, batch);
      // Cancelled for another reason (a transaction conflict, throttling): the caller's timeout decides.
      if (!outcome) throw error;
      if (outcome.kind !== 'partial') return outcome;
      // An earlier attempt stored part of the run: store the rest.
      return copy(
        batch.filter((e) => !outcome.stored.has(e.eventId)),
        writer,
      );
    }
  }
  return {
    region: options.region,
    copy,
    eventsFrom: (aggregateType, aggregateId, fromSeq) =>
      events.loadStream(aggregateType, aggregateId, {
        afterSortKey: eventSortKey('core', { seq: fromSeq - 1, hlc: '' }),
      }),
    ...(options.retire ? { retire: options.retire } : {}),
    async discard(existing) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: resolve(tables.events),
            Key: {
              pk: aggregateKey(existing.aggregateType, existing.aggregateId),
              sk: eventSortKey('core', existing),
            },
            ConditionExpression: 'eventId = :id',
            ExpressionAttributeValues: { ':id': existing.eventId },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
