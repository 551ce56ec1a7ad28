import { describe, expect, it } from 'vitest';
import { queueSamples } from '../../../lib/sandbox/cloudwatch/index.ts';

const arn = (region: string, name: string) => `arn:aws:sqs:${region}:111111111111:${name}`;
const depth = (region: string, name: string, visible: number, inFlight: number, sent: number) => ({
  region,
  name,
  visible,
  inFlight,
  sent,
});

/** `name@region` -> value, one entry per datapoint. */
function byMetric(samples: ReturnType<typeof queueSamples>): Record<string, number> {
  return Object.fromEntries(
    samples.map(({ metric, value }) => [
      `${metric.name} ${metric.dimensions.QueueName}@${metric.region}`,
      value,
    ]),
  );
}

describe('queueSamples (SQS metrics of the sandbox, per region)', () => {
  it("puts each region's queue under its own region: the same queue name in two regions is two metrics", () => {
    const sentBefore = new Map<string, number>();
    const samples = byMetric(
      queueSamples({
        deadLetters: [
          { region: 'us-east-1', queueArn: arn('us-east-1', 'multiactive-dev-forward-dead-letters') },
          { region: 'us-east-1', queueArn: arn('us-east-1', 'multiactive-dev-forward-dead-letters') },
        ],
        queues: [
          depth('eu-west-1', 'multiactive-dev-applier-failures', 0, 2, 3),
          depth('us-east-1', 'multiactive-dev-applier-failures', 1, 0, 1),
        ],
        sentBefore,
      }),
    );
    expect(samples).toEqual({
      'ApproximateNumberOfMessagesVisible multiactive-dev-forward-dead-letters@us-east-1': 2,
      'ApproximateNumberOfMessagesNotVisible multiactive-dev-forward-dead-letters@us-east-1': 0,
      'ApproximateNumberOfMessagesVisible multiactive-dev-applier-failures@eu-west-1': 0,
      'ApproximateNumberOfMessagesNotVisible multiactive-dev-applier-failures@eu-west-1': 2,
      'NumberOfMessagesSent multiactive-dev-applier-failures@eu-west-1': 3,
      'ApproximateNumberOfMessagesVisible multiactive-dev-applier-failures@us-east-1': 1,
      'ApproximateNumberOfMessagesNotVisible multiactive-dev-applier-failures@us-east-1': 0,
      'NumberOfMessagesSent multiactive-dev-applier-failures@us-east-1': 1,
    });
  });

  it('reports messages sent since the previous sample, per region, and nothing for a queue never used', () => {
    const sentBefore = new Map<string, number>();
    const sample = (euSent: number, usSent: number) =>
      byMetric(
        queueSamples({
          deadLetters: [],
          queues: [
            depth('eu-west-1', 'multiactive-dev-ordinary-lane', 0, 0, euSent),
            depth('us-east-1', 'multiactive-dev-ordinary-lane', 0, 0, usSent),
            depth('ap-southeast-1', 'multiactive-dev-ordinary-lane', 0, 0, 0),
          ],
          sentBefore,
        }),
      );
    expect(sample(5, 0)['NumberOfMessagesSent multiactive-dev-ordinary-lane@eu-west-1']).toBe(5);
    const second = sample(7, 4);
    expect(second['NumberOfMessagesSent multiactive-dev-ordinary-lane@eu-west-1']).toBe(2);
    expect(second['NumberOfMessagesSent multiactive-dev-ordinary-lane@us-east-1']).toBe(4);
    expect(Object.keys(second).filter((k) => k.endsWith('@ap-southeast-1'))).toEqual([]);
    expect(sample(7, 4)['NumberOfMessagesSent multiactive-dev-ordinary-lane@eu-west-1']).toBe(0);
  });
});
