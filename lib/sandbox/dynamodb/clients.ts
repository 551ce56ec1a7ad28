import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Dummy credentials: DynamoDB Local accepts any, and real AWS must never be reached from here. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } as const;

export interface LocalClients {
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly streams: DynamoDBStreamsClient;
}

/**
 * SDK clients for one DynamoDB Local endpoint. DynamoDB Local keeps a separate namespace per region,
 * so clients of different `region`s on one process see different tables.
 */
export function localClients(endpoint: string, region: string): LocalClients {
  const config = { endpoint, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 };
  const dynamodb = new DynamoDBClient(config);
  return {
    dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    streams: new DynamoDBStreamsClient(config),
  };
}
