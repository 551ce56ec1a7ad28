import { describe, expect, it } from 'vitest';
import { withBug } from '../../lib/faults/index.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

/**
 * A real-time apply that failed three times (the first invocation and Lambda's two retries) goes to
 * applier-failures; a mapping hands it back to the applier. Without it (`applier-failures-not-redriven`)
 * the event waits there for an operator and the region misses it meanwhile. The sandbox runs the mapping
 * from the template (test/e2e/bench-hooks.test.ts, "a real-time apply that keeps failing", fails without
 * it); the switch reaches only in-process synthesis, as here, not the sandbox's child-process synthesis.
 */
const redriveMappings = () =>
  Object.values(templatesOf(testEnvironment(twoRegionTopology({})))).flatMap((t) => {
    const queues = Object.entries(t.findResources('AWS::SQS::Queue')).filter(([, q]) =>
      String(q.Properties.QueueName).endsWith('-applier-failures'),
    );
    return queues.map(
      ([queueId]) =>
        Object.values(t.findResources('AWS::Lambda::EventSourceMapping')).filter(
          (m) =>
            JSON.stringify(m.Properties.EventSourceArn) ===
            JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }),
        ).length,
    );
  });

describe('applier-failures is redriven', () => {
  it('every cell maps applier-failures back to the applier; with applier-failures-not-redriven none does', {
    timeout: 180_000,
  }, async () => {
    expect(redriveMappings()).toEqual([1, 1]);
    expect(await withBug('applier-failures-not-redriven', async () => redriveMappings())).toEqual([0, 0]);
  });
});
