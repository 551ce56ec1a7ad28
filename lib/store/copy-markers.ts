import {
  type DynamoDBDocumentClient,
  paginateQuery,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../model/envelope.ts';
import { aggregateKey } from './keys.ts';
import { resolveTableName, type TableName } from './table-name.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Partition key of the copy markers of one partition in a region's replication table: one item per
 * aggregate whose core events this region received from another region's log (sort key = aggregate key),
 * naming the newest one received. A quorum copy writes it in its own transaction (and confirms it when the
 * events were there already); the replication applier's core appends carry it too (`received`). A strongly consistent
 * query of it lists every aggregate a failover must look at (the by-partition index of the events table is
 * eventually consistent and lists every event, not every aggregate).
 */
export function quorumMarkerKey(partition: number): string {
  return `QCOPY#${partition}`;
}

/** An aggregate that received core events in a region, with the newest one it received there. */
export interface QuorumMarker {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly seq: number;
  readonly hlc: string;
}

/**
 * The Put of the marker naming `last` (the epoch it was copied under, if any). `ifNotAhead`: only over no
 * marker or one at a lower or equal seq, so a late or repeated delivery never moves a marker back.
 */
export function quorumMarkerPut(
  table: TableName,
  last: EventEnvelope,
  options: { readonly epoch?: number; readonly ifNotAhead?: boolean } = {},
): NonNullable<TransactItem['Put']> {
  return {
    TableName: resolveTableName(table),
    Item: {
      pk: quorumMarkerKey(last.partition),
      sk: aggregateKey(last.aggregateType, last.aggregateId),
      aggregateType: last.aggregateType,
      aggregateId: last.aggregateId,
      seq: last.seq,
      hlc: last.hlc,
      ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
      at: new Date().toISOString(),
    },
    ...(options.ifNotAhead
      ? {
          ConditionExpression: 'attribute_not_exists(pk) OR seq <= :seq',
          ExpressionAttributeValues: { ':seq': last.seq },
        }
      : {}),
  };
}

/** The copy markers of one partition in a region (strongly consistent). */
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
