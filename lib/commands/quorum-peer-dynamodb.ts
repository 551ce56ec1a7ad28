import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { REGISTER_SORT_KEY } from '../ownership/dynamodb-replica.ts';
import { partitionKey } from '../ownership/partition-map.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { quorumMarkerPut } from '../store/copy-markers.ts';
import { coreMarkerPuts } from '../store/core-markers.ts';
import { ArchivedStubAppendError } from '../store/errors.ts';
import { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import { fromRawEventItem, toEventItem } from '../store/marshal.ts';
import { resolveTableName, type TableName } from '../store/table-name.ts';
import type { BranchRetirer, CopyOutcome, QuorumPeer } from './quorum-peer.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A peer's tables the quorum ack touches (the same names in every region). */
export interface QuorumPeerTables {
  readonly events: TableName;
  /** Where the copy markers live (`quorumMarkerKey`). */
  readonly replication: TableName;
  /** The peer's copy of the partition map, which seals it against a stale writer. */
  readonly control: TableName;
}

/** The transaction of one copy: the events, the predecessor and seal checks, the markers. */
function copyItems(
  tables: QuorumPeerTables,
  events: readonly EventEnvelope[],
  epoch: number,
): TransactItem[] {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  // A raw copy never carries an archived stub (its payload is in the archive, the peer's log could never be
  // folded): the same refusal as every append's (bug switch `quorum-copy-sends-stubs`: written as it is).
  const stub = bugEnabled('quorum-copy-sends-stubs') ? undefined : events.find(isArchivedStub);
  if (stub) throw new ArchivedStubAppendError(stub.aggregateId, stub.eventId);
  const pk = aggregateKey(first.aggregateType, first.aggregateId);
  const items: TransactItem[] = events.map((event) => ({
    Put: {
      TableName: resolveTableName(tables.events),
      Item: toEventItem('core', event),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  }));
  const predecessor: TransactItem = {
    ConditionCheck: {
      TableName: resolveTableName(tables.events),
      Key: { pk, sk: eventSortKey('core', { seq: first.seq - 1, hlc: '' }) },
      ConditionExpression:
        first.prev === null ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND hlc = :prev',
      ...(first.prev === null ? {} : { ExpressionAttributeValues: { ':prev': first.prev } }),
    },
  };
  // Raft's rule, in DynamoDB: a peer stores an event only on top of the writer's own predecessor (no gap,
  // no other branch), and never for a writer whose epoch a failover has sealed it against.
  // The copy is in the peer's log: the peer's core marker rides along, like every core append's.
  const core = coreMarkerPuts(resolveTableName(tables.replication), [first]);
  return [
    ...items,
    ...(first.seq > 1 ? [predecessor] : []),
    sealCheck(tables, first.partition, epoch),
    { Put: quorumMarkerPut(tables.replication, last, { epoch }) },
    ...core,
  ];
}

/** The writer's epoch is not sealed at the peer: its copy of the partition map is not past it. */
export function sealCheck(
  tables: Pick<QuorumPeerTables, 'control'>,
  partition: number,
  epoch: number,
): TransactItem {
  return {
    ConditionCheck: {
      TableName: resolveTableName(tables.control),
      Key: { pk: partitionKey(partition), sk: REGISTER_SORT_KEY },
      ConditionExpression: 'attribute_not_exists(pk) OR epoch <= :epoch',
      ExpressionAttributeValues: { ':epoch': epoch },
    },
  };
}

/** `last` is in the peer's log as it is. */
function holdsCheck(tables: QuorumPeerTables, last: EventEnvelope): TransactItem {
  return {
    ConditionCheck: {
      TableName: resolveTableName(tables.events),
      Key: { pk: aggregateKey(last.aggregateType, last.aggregateId), sk: eventSortKey('core', last) },
      ConditionExpression: 'eventId = :id',
      ExpressionAttributeValues: { ':id': last.eventId },
    },
  };
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

/** Which items of a cancelled transaction failed their condition. */
function failedChecks(error: TransactionCanceledException): boolean[] {
  return (error.CancellationReasons ?? []).map((r) => r.Code === 'ConditionalCheckFailed');
}

/**
 * The peer holds the whole run already (an earlier attempt, the replication applier or a repair stored it
 * before this copy arrived): it counts only as a copy would, under the same seal check and with the marker
 * the failover's collection lists. A marker already past the run stays (then the event and the seal are
 * checked alone). Bug switch `stored-copy-unmarked`: it counted with neither.
 */
async function confirmHeld(
  client: DynamoDBDocumentClient,
  tables: QuorumPeerTables,
  last: EventEnvelope,
  epoch: number,
): Promise<CopyOutcome> {
  if (bugEnabled('stored-copy-unmarked')) return { kind: 'stored' };
  const checks = [holdsCheck(tables, last), sealCheck(tables, last.partition, epoch)];
  const marked = [...checks, { Put: quorumMarkerPut(tables.replication, last, { epoch, ifNotAhead: true }) }];
  for (const items of [marked, checks]) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: items }));
      return { kind: 'stored' };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [held, sealed, markerAhead] = failedChecks(error);
      if (sealed) return { kind: 'sealed' };
      // Anything but a marker ahead of the run (the event retired meanwhile, a transaction conflict): the
      // caller's timeout decides.
      if (items === checks || held || !markerAhead) throw error;
    }
  }
  throw new Error('unreachable: the second attempt returns or throws');
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
      const rest = batch.filter((e) => !outcome.stored.has(e.eventId));
      if (rest.length === 0) return confirmHeld(client, tables, batch[batch.length - 1]!, writer.epoch);
      // An earlier attempt (or the applier) stored part of the run: store the rest.
      return copy(rest, writer);
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
            TableName: resolveTableName(tables.events),
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
