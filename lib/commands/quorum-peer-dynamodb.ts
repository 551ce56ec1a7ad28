import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import type { QuorumPeer } from './quorum-ack.ts';

/** A peer region's events table for the quorum ack, over its DynamoDB client. */
export function dynamoQuorumPeer(options: {
  readonly region: string;
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}): QuorumPeer {
  const table = () => (typeof options.tableName === 'string' ? options.tableName : options.tableName());
  return {
    region: options.region,
    events: new EventStore({ client: options.client, tableName: options.tableName }),
    async discard(existing) {
      try {
        await options.client.send(
          new DeleteCommand({
            TableName: table(),
            Key: {
              pk: aggregateKey(existing.aggregateType, existing.aggregateId),
              sk: eventSortKey('core', existing),
            },
            ConditionExpression: 'eventId = :id',
            ExpressionAttributeValues: { ':id': existing.eventId },
          }),
        );
      } catch (error) {
        // Already gone (another writer discarded it): nothing to do.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
