import { Duration, Names } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

/**
 * A queue that holds what could not be delivered (failed stream batches, undeliverable replication
 * events). Fourteen days (the SQS maximum) gives operators time to redrive before anything is lost.
 * `queueName` (the same in every region) lets the global dashboard show it from us-east-1.
 * `redriveTarget`: it is the dead-letter queue of another queue's redrive policy.
 */
export function failureQueue(
  scope: Construct,
  id: string,
  queueName: string,
  options: { redriveTarget?: boolean } = {},
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    queueName,
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const reason =
    'This queue is itself a dead-letter destination (of an EventBridge target, a Lambda async invocation ' +
    'or a stream event source): it is redriven by an operator, and a DLQ of a DLQ would only hide messages.';
  // A queue named in another queue's redrive policy is already known to cdk-nag as a dead-letter queue.
  if (!options.redriveTarget) acknowledge(queue, 'AwsSolutions-SQS3', reason);
  acknowledge(queue, 'Serverless-SQSRedrivePolicy', reason);
  return queue;
}

/** The mapping `SqsEventSource` adds to a function for a queue (found by its id, not by position). */
export function sqsMappingOf(fn: lambda.IFunction, queue: sqs.IQueue): Construct | undefined {
  const id = `SqsEventSource:${Names.nodeUniqueId(queue.node)}`;
  return fn.node.tryFindChild(id) as Construct | undefined;
}
