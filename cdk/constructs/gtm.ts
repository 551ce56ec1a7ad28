import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { RegionConfig, Topology } from '../../lib/config/index.ts';
import { healthAlarmName, regionHostName } from '../naming.ts';
import { AlarmTopic } from './alarm-topic.ts';

export interface GtmProps {
  readonly topology: Topology;
}

/**
 * The global traffic manager on Route 53: per region a health check on `https://<region>.<zone>/health`
 * and a record for `gtm.domainName` (latency-based, or weighted) that Route 53 withdraws while the check
 * fails. The records are CNAMEs to the per-region names (created by each regional stack), because the
 * global stack cannot reference a regional API Gateway domain across regions; this also lets the
 * configured `gtm.ttlSeconds` apply. Per region, an alarm on the check's HealthCheckStatus (a metric
 * Route 53 publishes only in us-east-1, hence this stack's region) notifies the topic. It starts
 * nothing: failover is decided by the watchdogs of the regions themselves (no global stack, and no
 * one-minute metric, on that path).
 */
export class Gtm extends Construct {
  public readonly topic: sns.Topic;
  public readonly healthChecks: Readonly<Record<string, route53.HealthCheck>>;
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: GtmProps) {
    super(scope, id);
    const { topology } = props;
    const { gtm } = topology;
    this.topic = new AlarmTopic(this, 'Notifications', {
      topicName: `multiactive-${topology.name}-gtm`,
      email: topology.monitoring.alarmEmail,
    }).topic;
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: gtm.hostedZoneId,
      zoneName: gtm.hostedZoneName,
    });
    if (gtm.policy === 'round-robin' || gtm.policy === 'least-connections') {
      Annotations.of(this).addWarning(
        `Route 53 has no ${gtm.policy} policy (the sandbox GTM does): using equal weights instead`,
      );
    }

    const healthChecks: Record<string, route53.HealthCheck> = {};
    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const region of topology.regions) {
      const healthCheck = new route53.HealthCheck(this, `Health-${region.name}`, {
        type: route53.HealthCheckType.HTTPS,
        fqdn: regionHostName(topology, region.name),
        port: 443,
        resourcePath: gtm.healthCheck.path,
        requestInterval: Duration.seconds(gtm.healthCheck.intervalSeconds),
        failureThreshold: gtm.healthCheck.failureThreshold,
        enableSNI: true,
        measureLatency: true,
      });
      new route53.CnameRecord(this, `Record-${region.name}`, {
        zone,
        recordName: gtm.domainName,
        domainName: regionHostName(topology, region.name),
        ttl: Duration.seconds(gtm.ttlSeconds),
        setIdentifier: region.name,
        healthCheck,
        ...routing(topology, region),
      });
      alarms[region.name] = this.alarmOn(topology, region.name, healthCheck);
      healthChecks[region.name] = healthCheck;
    }
    this.healthChecks = healthChecks;
    this.alarms = alarms;
  }

  private alarmOn(topology: Topology, region: string, healthCheck: route53.HealthCheck): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `HealthAlarm-${region}`, {
      alarmName: healthAlarmName(topology.name, region),
      alarmDescription: `Route 53 health check of ${region} failing (Route 53 has stopped routing to it)`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensionsMap: { HealthCheckId: healthCheck.healthCheckId },
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(1),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      // Two bad minutes on top of Route 53's own failure threshold: a blip must not page anyone.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Missing data is no proof of loss (and this alarm only notifies: the watchdogs start failovers).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    return alarm;
  }
}

/** Latency records carry the region; weighted ones its configured weight (equal for the sandbox-only policies). */
function routing(topology: Topology, region: RegionConfig): { region: string } | { weight: number } {
  switch (topology.gtm.policy) {
    case 'latency':
      return { region: region.name };
    case 'weighted':
      return { weight: region.weight };
    default:
      return { weight: 1 };
  }
}
