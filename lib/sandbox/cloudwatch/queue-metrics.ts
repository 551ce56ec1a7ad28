import type { MetricId } from './metrics.ts';

/** What one region holds of one queue when the metrics are sampled. */
export interface QueueDepth {
  readonly region: string;
  /** The queue's name (`QueueName`, the dimension SQS reports under). */
  readonly name: string;
  readonly visible: number;
  readonly inFlight: number;
  /** Messages sent to it since the sandbox started. */
  readonly sent: number;
}

export interface QueueSampleInput {
  /** Dead letters the sandbox keeps as lists (bus targets' DLQs), by the region that holds them. */
  readonly deadLetters: ReadonlyArray<{ readonly region: string; readonly queueArn: string }>;
  /** The templates' queues (the ordinary lane, applier-failures and their dead letters). */
  readonly queues: readonly QueueDepth[];
  /** Per `region|queue`: `sent` at the previous sample (updated here), for `NumberOfMessagesSent`. */
  readonly sentBefore: Map<string, number>;
}

/**
 * The datapoints SQS would report for one sample, per region and queue name (CloudWatch is regional: one
 * region's queue never fires another's alarm): messages visible (dead letters plus visible messages), in
 * flight, and sent since the previous sample. A queue that never held anything and has no dead letter puts
 * nothing (missing data), as SQS reports nothing for a queue nobody used.
 */
export function queueSamples(input: QueueSampleInput): Array<{ metric: MetricId; value: number }> {
  type Sample = { region: string; queue: string; visible: number; inFlight: number; sent?: number };
  const samples = new Map<string, Sample>();
  const at = (region: string, queue: string): Sample => {
    const key = `${region}|${queue}`;
    let sample = samples.get(key);
    if (!sample) {
      sample = { region, queue, visible: 0, inFlight: 0 };
      samples.set(key, sample);
    }
    return sample;
  };
  for (const letter of input.deadLetters)
    at(letter.region, letter.queueArn.slice(letter.queueArn.lastIndexOf(':') + 1)).visible++;
  for (const queue of input.queues) {
    if (queue.sent === 0 && !samples.has(`${queue.region}|${queue.name}`)) continue;
    const sample = at(queue.region, queue.name);
    sample.visible += queue.visible;
    sample.inFlight += queue.inFlight;
    sample.sent = queue.sent;
  }
  const out: Array<{ metric: MetricId; value: number }> = [];
  for (const { region, queue, visible, inFlight, sent } of samples.values()) {
    const put = (name: string, value: number) =>
      out.push({ metric: { namespace: 'AWS/SQS', name, dimensions: { QueueName: queue }, region }, value });
    put('ApproximateNumberOfMessagesVisible', visible);
    put('ApproximateNumberOfMessagesNotVisible', inFlight);
    if (sent === undefined) continue;
    const key = `${region}|${queue}`;
    put('NumberOfMessagesSent', sent - (input.sentBefore.get(key) ?? 0));
    input.sentBefore.set(key, sent);
  }
  return out;
}
