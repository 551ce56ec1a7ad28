import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { GlobalDashboard } from '../constructs/global-dashboard.ts';
import { Gtm } from '../constructs/gtm.ts';
import { GLOBAL_REGION } from '../naming.ts';

export interface GlobalStackProps extends StackProps {
  readonly topology: Topology;
}

/**
 * The pieces that exist once per environment: the Route 53 GTM with its health checks and the alarms
 * that notify on them. Always in us-east-1, where Route 53 publishes its metrics, whichever regions the
 * cells run in. Nothing here is on the failover path: the regions' watchdogs start Failover, so losing
 * us-east-1 (and this stack's alarms with it) changes nothing about failure detection.
 */
export class GlobalStack extends Stack {
  public readonly gtm: Gtm;
  public readonly dashboard: GlobalDashboard;

  constructor(scope: Construct, id: string, props: GlobalStackProps) {
    super(scope, id, { ...props, env: { account: props.topology.account, region: GLOBAL_REGION } });
    this.gtm = new Gtm(this, 'Gtm', { topology: props.topology });
    this.dashboard = new GlobalDashboard(this, 'Dashboard', {
      topology: props.topology,
      healthChecks: this.gtm.healthChecks,
      alarms: Object.values(this.gtm.alarms),
    });
    new CfnOutput(this, 'ApiUrl', { value: `https://${props.topology.gtm.domainName}` });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.gtm.topic.topicArn });
  }
}
