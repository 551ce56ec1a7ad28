/** The AWS operations one scheduled readiness evaluation makes (lib/ops/aws-readiness.ts), as IAM names them. */
export const READINESS_OPERATIONS = [
  'cloudformation:DescribeStacks',
  'route53:ListHealthChecks',
  'route53:GetHealthCheckStatus',
  'cloudwatch:GetMetricData',
  'cloudwatch:DescribeAlarms',
  'sqs:ListQueues',
  'sqs:GetQueueAttributes',
  'states:ListExecutions',
  'dynamodb:BatchGetItem',
] as const;
