import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { bugEnabled } from '../../lib/faults/index.ts';
import { queueName } from '../naming.ts';
import { acknowledge } from './nag.ts';
import { LANE_MAX_MESSAGE_BYTES, VISIBILITY_TIMEOUT_FACTOR } from './ordinary-lane.ts';
import { failureQueue, sqsMappingOf } from './queue-defaults.ts';

/**
 * Receives of one failed invocation before it is given up: with the applier's back-off (2 s doubling to 5
 * minutes, `retryDelaySeconds`) about 4.5 hours of retries, as long as a region stays cut from the peers
 * it must read from in a bad partition, well inside the queue's 14 days.
 */
export const REDRIVE_MAX_RECEIVES = 60;
/**
 * One failed invocation per redrive invocation: a redriven apply can be slow (the cause of its failure, a
 * quorum read timing out, may last), and a record handed back untried from a larger batch would spend one
 * of its REDRIVE_MAX_RECEIVES without being tried. Redrives are rare; their invocations cost nothing worth
 * batching for.
 */
export const REDRIVE_BATCH_SIZE = 1;
/** At most this many redrive invocations at once: the real-time path keeps the rest of the applier's. */
export const REDRIVE_MAX_CONCURRENCY = 2;

export interface ApplierRedriveProps {
  readonly env: string;
  readonly applier: lambda.IFunction;
  /** The applier's timeout (the queue's visibility timeout is a multiple of it). */
  readonly applierTimeout: Duration;
}

/**
 * Where a failed real-time apply goes on, on AWS. The apply rule invokes the applier asynchronously: an
 * invocation that throws (a transient error: throttling, a quorum read cut off, a stale home lease) is
 * retried by Lambda twice, 1 and 2 minutes later (its maximum), then sent as an invocation record to
 * `applier-failures`. That queue is a work queue, not a parking place: an event source mapping hands its
 * records back to the applier, which applies each record's `requestPayload` through the real-time path
 * (`lib/replication/redrive.ts`) and backs failed ones off; after REDRIVE_MAX_RECEIVES receives a record
 * moves to `applier-failures-dead-letters`, the alarmed queue an operator redrives. Both queues are
 * retained: they hold events not yet applied in this region.
 */
export interface ApplierRedrive {
  readonly queue: sqs.Queue;
  /** Failed invocations the redrive gave up on. */
  readonly deadLetters: sqs.Queue;
}

/**
 * Creates the two queues in `scope` (applier-failures keeps the id `ApplierFailures`, so its logical id and
 * the records a cell deployed before this held stay: a new id would replace the queue and delete them) and
 * the mapping on the applier.
 */
export function applierRedrive(scope: Construct, props: ApplierRedriveProps): ApplierRedrive {
  const { env } = props;
  const deadLetters = failureQueue(
    scope,
    'ApplierFailuresDeadLetters',
    queueName(env, 'applier-failures-dead-letters'),
    { redriveTarget: true },
  );
  const queue = new sqs.Queue(scope, 'ApplierFailures', {
    queueName: queueName(env, 'applier-failures'),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(props.applierTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    retentionPeriod: Duration.days(14),
    // An invocation record carries the whole EventBridge event (up to 256 KiB) plus Lambda's envelope.
    maxMessageSizeBytes: LANE_MAX_MESSAGE_BYTES,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: REDRIVE_MAX_RECEIVES },
  });
  queue.applyRemovalPolicy(RemovalPolicy.RETAIN);
  deadLetters.applyRemovalPolicy(RemovalPolicy.RETAIN);
  if (bugEnabled('applier-failures-not-redriven')) return { queue, deadLetters };
  props.applier.addEventSource(
    new SqsEventSource(queue, {
      batchSize: REDRIVE_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: REDRIVE_MAX_CONCURRENCY,
    }),
  );
  const mapping = sqsMappingOf(props.applier, queue);
  if (!mapping) throw new Error('the redrive mapping of applier-failures was not found');
  acknowledge(
    mapping,
    'Serverless-LambdaEventSourceMappingDestination',
    "An SQS source takes no on-failure destination: the queue's redrive policy moves a record to applier-failures-dead-letters after REDRIVE_MAX_RECEIVES receives",
  );
  return { queue, deadLetters };
}
