import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { OrdinaryLaneConfig } from '../../lib/config/index.ts';
import { bugEnabled } from '../../lib/faults/index.ts';
import { LANE_DETAIL_TYPE_PREFIX } from '../../lib/replication/entries.ts';
import { ordinaryLaneRuleName, queueName, REPLICATION_SOURCE } from '../naming.ts';
import { acknowledge } from './nag.ts';
import { failureQueue, sqsMappingOf } from './queue-defaults.ts';
import { DELIVERY_RETRY } from './replication-bus.ts';

/**
 * Lambda's guidance for an SQS source: a visibility timeout of at least six times the function's timeout,
 * so a batch still being retried by Lambda (throttling) is not handed out a second time meanwhile.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/**
 * The lane queue's largest message, SQS's maximum (1 MiB): the rule's message is the whole EventBridge
 * event, at most 256 KiB (a PutEvents entry), so every event the platform accepts fits, with room.
 */
export const LANE_MAX_MESSAGE_BYTES = 1_048_576;

export interface OrdinaryLaneProps {
  readonly env: string;
  readonly region: string;
  readonly bus: events.IEventBus;
  readonly applier: lambda.IFunction;
  /** The applier's timeout (the queue's visibility timeout is a multiple of it). */
  readonly applierTimeout: Duration;
  /** The aggregate types of the ordinary tier (the rule matches their `detail.aggregateType`). */
  readonly aggregateTypes: readonly string[];
  readonly config: OrdinaryLaneConfig;
  /** false while draining: no rule feeds the queue, the mapping empties it. */
  readonly routing: boolean;
  /** Where the rule's undeliverable events go (the real-time apply rule's dead letters). */
  readonly ruleDeadLetters: sqs.IQueue;
}

/**
 * The batched apply lane of the ordinary tier: a rule on the replication bus sends ordinary events of
 * other origins to an SQS queue (SSE, TLS only, redrive to a dead-letter queue after `maxReceiveCount`
 * receives), and an event source mapping hands the applier batches of up to `batchSize` records gathered
 * for up to `maxBatchingWindow`, with partial batch responses: only the records the applier reports
 * failed come back, and at most `maxConcurrency` invocations at once. The rule reaches the queue through the
 * queue's policy (CDK pins it to this rule), the applier reads it through its role (the mapping's grants).
 */
export class OrdinaryLane extends Construct {
  public readonly queue: sqs.Queue;
  /** Lane messages received `maxReceiveCount` times without success. */
  public readonly deadLetters: sqs.Queue;
  /** The rule feeding the queue (none while the lane drains). */
  public readonly rule: events.Rule | undefined;

  constructor(scope: Construct, id: string, props: OrdinaryLaneProps) {
    super(scope, id);
    const { env, region, config } = props;
    this.deadLetters = failureQueue(this, 'DeadLetters', queueName(env, 'ordinary-lane-dead-letters'), {
      redriveTarget: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: queueName(env, 'ordinary-lane'),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.applierTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      // As long as the dead-letter queues: a lane stalled over a long weekend still holds its events.
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: LANE_MAX_MESSAGE_BYTES,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: config.maxReceiveCount },
    });
    // Both hold events not yet applied here: removing the lane (or replacing a queue) must not delete them
    // with it. Retained, they are drained (README "Turning the lane off") and deleted by an operator.
    if (!bugEnabled('lane-queues-deleted')) {
      this.queue.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.deadLetters.applyRemovalPolicy(RemovalPolicy.RETAIN);
    }
    this.rule = !props.routing
      ? undefined
      : new events.Rule(this, 'Rule', {
          ruleName: ordinaryLaneRuleName(env),
          eventBus: props.bus,
          description: `Ordinary-tier replication events from other regions -> batched apply lane in ${region}`,
          // The tier the origin's publisher stamped (detailTypeOf), not a list of types: a deploy moving a
          // type between tiers changes neither rule, so no event ever matches none (README "Ordinary lane").
          eventPattern: bugEnabled('lane-routes-by-type-list')
            ? {
                source: [REPLICATION_SOURCE],
                detail: {
                  origin: [{ 'anything-but': region }],
                  aggregateType: [...props.aggregateTypes],
                } as Record<string, unknown>,
              }
            : {
                source: [REPLICATION_SOURCE],
                detailType: events.Match.prefix(LANE_DETAIL_TYPE_PREFIX),
                detail: { origin: [{ 'anything-but': region }] } as Record<string, unknown>,
              },
          targets: [
            new targets.SqsQueue(this.queue, { ...DELIVERY_RETRY, deadLetterQueue: props.ruleDeadLetters }),
          ],
        });
    props.applier.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.batchSize,
        maxBatchingWindow: Duration.millis(config.maxBatchingWindowMs),
        reportBatchItemFailures: true,
        // The lowest priority under backlog: the lane never takes more than this many of the applier's
        // executions, whatever its depth, so the real-time core and important deliveries keep theirs.
        maxConcurrency: config.maxConcurrency,
      }),
    );
    const mapping = sqsMappingOf(props.applier, this.queue);
    if (mapping)
      acknowledge(
        mapping,
        'Serverless-LambdaEventSourceMappingDestination',
        "An SQS source takes no on-failure destination: the queue's redrive policy moves a record to the lane's dead-letter queue after maxReceiveCount receives",
      );
  }
}
