import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { failureQueue } from './queue-defaults.ts';

export interface AlarmTopicProps {
  readonly topicName: string;
  /** `monitoring.alarmEmail`: subscribed by e-mail (the recipient confirms); none when null. */
  readonly email: string | null;
}

/**
 * An SNS topic that CloudWatch alarms can publish to, encrypted with its own KMS key. Alarm actions are
 * published by the CloudWatch service: the topic policy must allow `cloudwatch.amazonaws.com` (a policy
 * holding only the TLS Deny makes every alarm action fail), and the key must let CloudWatch encrypt for
 * the topic (the AWS-managed aws/sns key cannot grant that, hence a customer-managed key).
 */
export class AlarmTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;
  /** Notifications SNS could not deliver to the e-mail subscription (kept 14 days); none without one. */
  public readonly undelivered: sqs.Queue | undefined;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { account, region } = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the alarm notifications of ${props.topicName}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // In a key policy, Resource "*" is this key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:${account}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': account },
        },
      }),
    );
    // An alarm notification that cannot be delivered (a bounced or unconfirmed address) is kept, not dropped.
    this.undelivered = props.email
      ? failureQueue(this, 'Undelivered', `${props.topicName}-undelivered`)
      : undefined;
    if (props.email && this.undelivered) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(props.email, { deadLetterQueue: this.undelivered }),
      );
      // No action (its notification would take the same failing path): `readiness`, which fails on any
      // multiactive-<env>-* alarm in ALARM, and the console of CloudWatch show it.
      new cloudwatch.Alarm(this, 'UndeliveredAlarm', {
        alarmName: `${props.topicName}-undelivered`,
        alarmDescription: `Alarm notifications of ${props.topicName} could not be e-mailed: check the subscription`,
        metric: this.undelivered.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
