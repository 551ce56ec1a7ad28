import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Hide one received lane message for `seconds` more (SQS ChangeMessageVisibility). */
export interface VisibilityChange {
  readonly receiptHandle: string;
  readonly seconds: number;
}

/** Changes the visibility of received messages of one queue (SQS in AWS, the local queue in the sandbox). */
export type LaneVisibility = (queueArn: string, changes: readonly VisibilityChange[]) => Promise<void>;

/** A lane record as the SQS event gives it, as far as retrying it goes. */
export interface RetriedRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly eventSourceARN: string;
  readonly attributes: { readonly ApproximateReceiveCount: string };
}

/**
 * How long a failed lane record waits before SQS hands it out again: 2 s after its first receive, doubling
 * with each receive, at most 5 minutes. Without it, a failed record waits out the queue's whole visibility
 * timeout (6 x the applier's timeout: 6 minutes), which suits a crashed invocation, not a throttled write.
 */
export function retryDelaySeconds(receiveCount: number): number {
  const count = Number.isFinite(receiveCount) && receiveCount >= 1 ? receiveCount : 1;
  return Math.min(300, 2 ** count);
}

/** The visibility changes for a batch's failed records, per queue (`seconds`: the wait by receive count). */
export function retryChanges(
  records: readonly RetriedRecord[],
  failed: readonly string[],
  seconds: (receiveCount: number) => number = retryDelaySeconds,
): Map<string, VisibilityChange[]> {
  const failing = new Set(failed);
  const byQueue = new Map<string, VisibilityChange[]>();
  for (const record of records) {
    if (!failing.has(record.messageId)) continue;
    const changes = byQueue.get(record.eventSourceARN) ?? [];
    changes.push({
      receiptHandle: record.receiptHandle,
      seconds: seconds(Number(record.attributes.ApproximateReceiveCount)),
    });
    byQueue.set(record.eventSourceARN, changes);
  }
  return byQueue;
}

/**
 * Shortens the wait of a batch's failed records (`seconds` by receive count, `retryDelaySeconds` unless
 * given). Best effort: a change that fails leaves the record to come back after the queue's visibility
 * timeout, as it would without it.
 */
export async function backOffFailed(
  visibility: LaneVisibility,
  records: readonly RetriedRecord[],
  failed: readonly string[],
  seconds: (receiveCount: number) => number = retryDelaySeconds,
): Promise<void> {
  await Promise.allSettled(
    [...retryChanges(records, failed, seconds)].map(([queueArn, changes]) => visibility(queueArn, changes)),
  );
}

/** The queue URL of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
export function queueUrlOf(queueArn: string): string {
  const [, , , region, account, name] = queueArn.split(':');
  return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}

/** LaneVisibility over SQS: ChangeMessageVisibilityBatch, ten entries a call. */
export function sqsLaneVisibility(client: SQSClient): LaneVisibility {
  return async (queueArn, changes) => {
    for (let at = 0; at < changes.length; at += 10) {
      await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrlOf(queueArn),
          Entries: changes.slice(at, at + 10).map((c, i) => ({
            Id: String(at + i),
            ReceiptHandle: c.receiptHandle,
            VisibilityTimeout: c.seconds,
          })),
        }),
      );
    }
  };
}
