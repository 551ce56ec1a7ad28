import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { peersOf, type Topology } from '../../lib/config/index.ts';
import { bugEnabled } from '../../lib/faults/index.ts';
import { LANE_DETAIL_TYPE_PREFIX } from '../../lib/replication/entries.ts';
import {
  applyRuleName,
  busArn,
  forwardRoleName,
  forwardRuleArn,
  forwardRuleName,
  queueName,
  REPLICATION_SOURCE,
} from '../naming.ts';
import { failureQueue } from './queue-defaults.ts';

export interface ReplicationBusProps {
  readonly topology: Topology;
  readonly region: string;
}

/**
 * EventBridge retries a failed delivery for up to 24 h by default. Six hours rides out throttling or a
 * service event, yet the dead-letter alarm still fires the same day; repair closes any gap afterwards.
 * For a Lambda target this covers handing the event to Lambda only: a function error is retried by the
 * function's own asynchronous invoke settings, then redriven from applier-failures (`applier-redrive.ts`).
 */
export const DELIVERY_RETRY = { retryAttempts: 50, maxEventAge: Duration.hours(6) } as const;

/**
 * The rules on the cell's replication bus `multiactive-<env>-bus` (the bus itself and its resource policy
 * live in the region's FoundationStack, deployed first): one rule per peer forwards events that originated
 * here to that peer's bus; one rule hands events of every other origin to the applier. Matching on
 * `detail.origin` (not on which bus an event came from) is what stops an applied event from bouncing
 * back: the applier never republishes, and forwarding only ever carries local-origin events.
 */
export class ReplicationBus extends Construct {
  public readonly bus: events.IEventBus;
  /** Replication events the applier rule could not deliver to the applier. */
  public readonly applyDeadLetters: sqs.Queue;
  /** Replication events a forwarding rule could not deliver to a peer's bus. */
  public readonly forwardDeadLetters: sqs.Queue;
  public readonly forwardRules: readonly events.Rule[];

  constructor(scope: Construct, id: string, props: ReplicationBusProps) {
    super(scope, id);
    const { topology, region } = props;
    this.bus = events.EventBus.fromEventBusArn(this, 'Bus', busArn(topology, region));
    this.applyDeadLetters = failureQueue(
      this,
      'ApplyDeadLetters',
      queueName(topology.name, 'apply-dead-letters'),
    );
    this.forwardDeadLetters = failureQueue(
      this,
      'ForwardDeadLetters',
      queueName(topology.name, 'forward-dead-letters'),
    );
    this.forwardRules = peersOf(topology, region).map((peer) => this.forwardTo(topology, region, peer));
  }

  private forwardTo(topology: Topology, region: string, peer: string): events.Rule {
    const ruleName = forwardRuleName(topology.name, peer);
    // Cross-region bus targets need a role; its trust is pinned to this one rule (confused deputy), and
    // its name is the one the peer's bus policy admits.
    const role = new iam.Role(this, `ToRole-${peer}`, {
      roleName: forwardRoleName(topology.name, region, peer),
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { ArnEquals: { 'aws:SourceArn': forwardRuleArn(topology, region, peer) } },
      }),
      description: `Forward ${region}-origin replication events to ${peer}`,
    });
    const peerBus = events.EventBus.fromEventBusArn(this, `PeerBus-${peer}`, busArn(topology, peer));
    return new events.Rule(this, `To-${peer}`, {
      ruleName,
      eventBus: this.bus,
      description: `Replication events originating in ${region} -> ${peer}`,
      eventPattern: { source: [REPLICATION_SOURCE], detail: { origin: [region] } },
      targets: [new targets.EventBus(peerBus, { role, deadLetterQueue: this.forwardDeadLetters })],
    });
  }
  /**
   * Delivers events of every other origin to the applier, one invocation per event; retries, then
   * dead-letters, never drops. With `lane`, events the origin stamped ordinary (detail-type `ordinary:*`)
   * are left to the lane; everything else (unstamped, malformed) comes here. `batched` (the ordinary types)
   * only serves the bug switch lane-routes-by-type-list, the routing by type lists the stamp replaced.
   */
  deliverToApplier(
    applier: lambda.IFunction,
    options: { region: string; env: string; batched?: readonly string[]; lane?: boolean },
  ): events.Rule {
    const { region, env } = options;
    const batched = options.batched ?? [];
    // With the lane on, the events the publisher stamped ordinary go to it (detailTypeOf), the rest here:
    // each event matches exactly one of the two rules whatever tiers a deploy is moving types between.
    const byTypeList = bugEnabled('lane-routes-by-type-list');
    const notBatched =
      batched.length === 0 || !byTypeList
        ? {}
        : {
            $or: [
              { aggregateType: [{ 'anything-but': [...batched] }] },
              { aggregateType: [{ exists: false }] },
            ],
          };
    const notStamped =
      options.lane && !byTypeList
        ? { detailType: events.Match.anythingButPrefix(LANE_DETAIL_TYPE_PREFIX) }
        : {};
    return new events.Rule(this, 'ToApplier', {
      ruleName: applyRuleName(env),
      eventBus: this.bus,
      description: `Replication events from other regions -> applier in ${region}`,
      eventPattern: {
        source: [REPLICATION_SOURCE],
        ...notStamped,
        detail: { origin: [{ 'anything-but': region }], ...notBatched } as Record<string, unknown>,
      },
      targets: [
        new targets.LambdaFunction(applier, { ...DELIVERY_RETRY, deadLetterQueue: this.applyDeadLetters }),
      ],
    });
  }
}
