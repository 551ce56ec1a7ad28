import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsReadClients } from '../../lib/ops/aws-readiness.ts';
import type { ExecutionPort } from '../../lib/ops/ports.ts';

/** A client per region, created on first use. */
export function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let client = made.get(region);
    if (client === undefined) {
      client = make(region);
      made.set(region, client);
    }
    return client;
  };
}

/** One SFN client per region. */
export const sfnClients = (): ((region: string) => SFNClient) =>
  perRegion((region) => new SFNClient({ region }));

/**
 * The clients readiness and status read AWS through, with the default credential chain (the operator's
 * for the CLI, the function's role in Lambda): Route 53 in its global region, the rest per region.
 */
export function awsReadClients(executions: ExecutionPort, globalRegion: string): AwsReadClients {
  return {
    route53: new Route53Client({ region: globalRegion }),
    cloudwatch: perRegion((region) => new CloudWatchClient({ region })),
    cloudformation: perRegion((region) => new CloudFormationClient({ region })),
    sqs: perRegion((region) => new SQSClient({ region })),
    dynamo: perRegion((region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region }))),
    executions,
  };
}
