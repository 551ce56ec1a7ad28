import { describe, expect, it } from 'vitest';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

/**
 * Review 2 of i15-lane (adversarial), finding 5 (deploy order, the limit case: the lane leaving). The
 * lane's queue and its dead letters are `sqs.Queue`s with CDK's default removal policy (DeletionPolicy
 * Delete). Interleaving:
 *
 *   1. the lane is stalled or slow (an applier bug, throttling, a long batching window): its queue holds
 *      ordinary events not yet applied (retention 14 days "so a lane stalled over a long weekend still
 *      holds its events"), and its dead letters hold events that failed maxReceiveCount times, waiting for
 *      an operator's redrive;
 *   2. an operator deploys `ordinaryLane.enabled: false` (README: "puts ordinary events back on the
 *      real-time path"), or moves the last ordinary type to another tier;
 *   3. the real-time rule is widened, then CloudFormation's cleanup phase DELETES both queues with every
 *      message in them: those events are never applied in this region (nothing redelivers them; only a
 *      Merkle repair that happens to run would find them), and the dead letters' evidence is gone.
 *
 * The synthesized lane queues must survive their construct's removal (DeletionPolicy/UpdateReplacePolicy
 * Retain, drained and deleted by an operator), or turning the lane off must be refused while they hold
 * messages. Suggested fix: `removalPolicy: RemovalPolicy.RETAIN` on both (and a README step: drain, then
 * delete), or a two-step switch-off (the rule removed first, the queue once empty).
 */
describe('review 2 of i15-lane: turning the lane off keeps the events it still holds', () => {
  // Synthesis of both regions takes over 30 s when the machine is loaded.
  it("retains the lane's queue and dead letters when the lane is removed", { timeout: 180_000 }, () => {
    const templates = templatesOf(
      testEnvironment(
        twoRegionTopology({
          aggregates: [
            { type: 'account', tier: 'core' },
            { type: 'activity', tier: 'ordinary' },
          ],
        }),
      ),
    );
    const queues = Object.entries(templates['eu-central-1']!.findResources('AWS::SQS::Queue')).filter(
      ([id]) => id.includes('OrdinaryLane'),
    );
    expect(queues.map(([id]) => id).length).toBe(2);
    // Fails on i15-lane: both are { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' }.
    for (const [id, queue] of queues)
      expect({ id, deletion: queue.DeletionPolicy, replace: queue.UpdateReplacePolicy }).toEqual({
        id,
        deletion: 'Retain',
        replace: 'Retain',
      });
  });
});
