import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** Dummy credentials: DynamoDB Local accepts any, and real AWS must never be reached from here. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } as const;

export interface LocalClients {
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly streams: DynamoDBStreamsClient;
}

/**
 * The SigV4 signer of a region's clients, built once: without one in the configuration the SDK builds a
 * new SignatureV4 over a copy of the whole client configuration for every request (a measurable share of
 * the sandbox's CPU per replicated event). Same credentials, region, service (DynamoDB Streams signs as
 * `dynamodb` too) and path escaping as the SDK's own, so requests are signed as before.
 */
function signerFor(region: string): SignatureV4 {
  return new SignatureV4({
    credentials: LOCAL_CREDENTIALS,
    region,
    service: 'dynamodb',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
  });
}

/**
 * SDK clients for one DynamoDB Local endpoint. DynamoDB Local keeps a separate namespace per region,
 * so clients of different `region`s on one process see different tables.
 */
export function localClients(endpoint: string, region: string): LocalClients {
  const config = {
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
    signer: signerFor(region),
  };
  const dynamodb = new DynamoDBClient(config);
  return {
    dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    streams: new DynamoDBStreamsClient(config),
  };
}
