import type { QueueSpec, SqsMappingSpec } from '../sqs/index.ts';
import { resourcesOfType, type StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate } from './templates.ts';

/**
 * Every AWS::SQS::Queue of a template with its visibility timeout, largest message and redrive policy
 * (SQS's defaults filled in).
 */
export function queuesOf(template: CfnTemplate, env: StackEnvironment): QueueSpec[] {
  return resourcesOfType(template, 'AWS::SQS::Queue', env).map(({ logicalId, properties: p }) => {
    const name = typeof p.QueueName === 'string' ? p.QueueName : logicalId;
    const redrive = p.RedrivePolicy as
      | { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
      | undefined;
    return {
      arn: `arn:aws:sqs:${env.region}:${env.account}:${name}`,
      name,
      visibilityTimeoutMs: (typeof p.VisibilityTimeout === 'number' ? p.VisibilityTimeout : 30) * 1000,
      ...(typeof p.MaximumMessageSize === 'number' ? { maxMessageBytes: p.MaximumMessageSize } : {}),
      ...(redrive && typeof redrive.deadLetterTargetArn === 'string'
        ? {
            redrive: {
              deadLetterArn: redrive.deadLetterTargetArn,
              maxReceiveCount: Number(redrive.maxReceiveCount),
            },
          }
        : {}),
    };
  });
}

/** Every SQS event source mapping of a template (Lambda's defaults: batch 10, no window). */
export function sqsMappingsOf(template: CfnTemplate, env: StackEnvironment): SqsMappingSpec[] {
  return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping', env)
    .filter(({ properties: p }) => String(p.EventSourceArn ?? '').startsWith('arn:aws:sqs:'))
    .filter(({ properties: p }) => p.Enabled !== false)
    .map(({ properties: p }) => ({
      functionName: String(p.FunctionName),
      queueArn: String(p.EventSourceArn),
      batchSize: typeof p.BatchSize === 'number' ? p.BatchSize : 10,
      maxBatchingWindowMs:
        (typeof p.MaximumBatchingWindowInSeconds === 'number' ? p.MaximumBatchingWindowInSeconds : 0) * 1000,
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      ...maxConcurrencyOf(p.ScalingConfig),
    }));
}

/** ScalingConfig.MaximumConcurrency, when the mapping sets one. */
function maxConcurrencyOf(scaling: unknown): { maxConcurrency?: number } {
  const max = (scaling as { MaximumConcurrency?: unknown } | undefined)?.MaximumConcurrency;
  return typeof max === 'number' ? { maxConcurrency: max } : {};
}
