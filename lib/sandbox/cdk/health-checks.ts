import { resourcesOfType, type StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate } from './templates.ts';

/** A synthesized Route 53 health check of one region's API. */
export interface HealthCheckSpec {
  /** What `Ref` of the check resolves to: the `HealthCheckId` dimension of its alarm. */
  readonly healthCheckId: string;
  /** The region, from the checked name `<region>.<zone>`. */
  readonly region: string;
  readonly path: string;
  readonly intervalSeconds: number;
  readonly failureThreshold: number;
}

/** Every Route 53 health check of the global template. */
export function healthChecksOf(template: CfnTemplate, env: StackEnvironment): HealthCheckSpec[] {
  return resourcesOfType(template, 'AWS::Route53::HealthCheck', env).map(({ logicalId, properties }) => {
    const config = (properties.HealthCheckConfig ?? {}) as Record<string, unknown>;
    return {
      healthCheckId: logicalId,
      region: String(config.FullyQualifiedDomainName ?? '').split('.')[0] as string,
      path: String(config.ResourcePath ?? '/'),
      intervalSeconds: Number(config.RequestInterval ?? 30),
      failureThreshold: Number(config.FailureThreshold ?? 3),
    };
  });
}
