import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { busPolicy } from '../constructs/bus-policy.ts';
import { InternalKey, internalKeyHome } from '../constructs/internal-key.ts';
import { busName } from '../naming.ts';

export interface FoundationStackProps extends StackProps {
  readonly topology: Topology;
  readonly region: string;
}

/**
 * What other stacks' rules target, deployed before them: the region's replication bus with its resource
 * policy, and in the first region the environment's internal key, replicated to the others, which every
 * cell's functions read. Every cell forwards to its peers' buses and the global stack forwards health alarms to them;
 * with the buses in the cells themselves, the first cell deployed would have rules aimed at buses that
 * do not exist yet (EventBridge accepts the target, then every delivery fails into the dead letters).
 */
export class FoundationStack extends Stack {
  public readonly bus: events.EventBus;
  /** Only in `internalKeyHome(topology)`. */
  public readonly internalKey: InternalKey | undefined;

  constructor(scope: Construct, id: string, props: FoundationStackProps) {
    const { topology, region } = props;
    super(scope, id, { ...props, env: { account: topology.account, region } });
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: busName(topology.name) });
    // The bus's own Policy property rather than addToResourcePolicy, which goes through a deprecated
    // AWS::Events::EventBusPolicy shape and prints a deprecation warning on every synth.
    (this.bus.node.defaultChild as events.CfnEventBus).policy = busPolicy(topology, region).toJSON();
    new CfnOutput(this, 'BusArn', { value: this.bus.eventBusArn });
    this.internalKey =
      region === internalKeyHome(topology)
        ? new InternalKey(this, 'InternalKey', { topology, region })
        : undefined;
  }
}
