import type { TestProject } from 'vitest/node';
import { type DynamoLocal, startDynamoLocal } from '../../lib/sandbox/dynamodb/local.ts';

let dynamo: DynamoLocal | undefined;

/** Starts one DynamoDB Local for the whole run; each test file creates its own tables in it. */
export default async function setup(project: TestProject) {
  dynamo = await startDynamoLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  const stop = async () => {
    await dynamo?.stop();
    dynamo = undefined;
  };
  // Stop the JVM even when the run is interrupted.
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}
