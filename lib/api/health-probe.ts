import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The health check's probe write: one small UpdateItem on the region's own control table (`pk =
 * HEALTH#<region>`, `sk = PROBE`). It fails exactly when the region's writes fail: DynamoDB errors,
 * throttling (the SDK's own retries included) or no answer.
 * @example const probeWrite = dynamoHealthProbe({ client, tableName: 'multiactive-dev-control', region });
 */
export function dynamoHealthProbe(options: {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
  readonly region: string;
  readonly now?: () => number;
}): () => Promise<void> {
  const table = typeof options.tableName === 'string' ? () => options.tableName as string : options.tableName;
  return async () => {
    await options.client.send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: `HEALTH#${options.region}`, sk: 'PROBE' },
        UpdateExpression: 'SET probedAt = :now',
        ExpressionAttributeValues: { ':now': (options.now ?? Date.now)() },
      }),
    );
  };
}
