import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records why a cdk-nag finding is accepted. cdk-nag 3 reads CDK's own acknowledgements; a finding
 * with details (`AwsSolutions-IAM5[Resource::...]`) must be acknowledged by its full id.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** How cdk-nag names a `Fn::GetAtt <resource>.Arn` inside a finding id: `<LogicalId.Arn>`. */
export function nagArnToken(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement;
  return `<${Stack.of(resource).getLogicalId(element)}.Arn>`;
}

/** X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions. */
export const XRAY_WILDCARD_REASON =
  'X-Ray tracing (PutTraceSegments, PutTelemetryRecords) supports no resource-level permissions: * is the only resource.';
