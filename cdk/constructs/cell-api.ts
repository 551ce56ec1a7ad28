import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { regionHostName } from '../naming.ts';
import { LOG_RETENTION } from './function-defaults.ts';
import { acknowledge } from './nag.ts';

export interface CellApiProps {
  readonly topology: Topology;
  readonly region: string;
  readonly handler: lambda.IFunction;
  /** Serves GET /health alone, so that no flood on the other routes takes its capacity. */
  readonly health: lambda.IFunction;
}

/** Route keys of the API; stage route settings (throttles) are keyed by them. */
export const ROUTE_KEYS = {
  v1: 'ANY /v1/{proxy+}',
  internal: 'ANY /internal/{proxy+}',
} as const;

/** The authorizer of the client routes, from `api.auth` (there is no unauthenticated mode). */
function clientAuthorizer(topology: Topology): apigwv2.IHttpRouteAuthorizer {
  const { auth } = topology.api;
  if (auth.type === 'iam') return new authorizers.HttpIamAuthorizer();
  return new authorizers.HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, {
    authorizerName: `multiactive-${topology.name}-jwt`,
    jwtAudience: [...auth.audience],
  });
}

/** HTTP API access-log fields ($context variables that HTTP APIs support), one JSON object per line. */
const ACCESS_LOG_FORMAT = apigateway.AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    method: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integration.latency',
    integrationError: '$context.integrationErrorMessage',
    userAgent: '$context.identity.userAgent',
  }),
);

/**
 * The cell's HTTP API: `/v1/{proxy+}` for clients (JWT or IAM authorizer, per `api.auth`),
 * `/internal/{proxy+}` for peers (peer tokens, checked by the handler) and the health route (its own
 * function), each with its own throttle, served on two custom domains only (no execute-api URL): the shared
 * GTM name (`gtm.domainName`, which the global latency/weighted records resolve to this region) and
 * `<region>.<gtm.hostedZoneName>`, which addresses this region alone (peers, health checks, operators).
 * Both share one DNS-validated certificate; the hosted zone is imported by id, never looked up.
 */
export class CellApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogs: logs.LogGroup;
  /** `https://<region>.<zone>`: this region's own endpoint (also what Route 53 health-checks). */
  public readonly regionalUrl: string;

  constructor(scope: Construct, id: string, props: CellApiProps) {
    super(scope, id);
    const { topology, region, handler } = props;
    const integration = new HttpLambdaIntegration('Handler', handler);
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `multiactive-${topology.name}-api`,
      description: `multiactive ${topology.name} API in ${region}`,
      createDefaultStage: false,
      // Clients and peers use the custom domains; the execute-api URL would be a way around them.
      disableExecuteApiEndpoint: true,
    });
    const v1 = this.httpApi.addRoutes({
      path: '/v1/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration,
      authorizer: clientAuthorizer(topology),
    });
    // Peers' forwarded writes and back-to-source reads: a peer token signed with the environment's
    // internal key, which the handler verifies before anything runs (API Gateway cannot check it).
    const internal = this.httpApi.addRoutes({
      path: '/internal/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration,
    });
    for (const route of internal) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'Peer-only route: the handler refuses (401) any request without a peer token signed with the ' +
          "environment's internal key, bound to the request, before it runs; API Gateway has no such authorizer.",
      );
    }
    const health = this.httpApi.addRoutes({
      path: topology.gtm.healthCheck.path,
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration('Health', props.health),
    });
    for (const route of health) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'Route 53 health checkers cannot authenticate; /health returns operational state only, never user data.',
      );
    }
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const { throttle } = topology.api;
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: throttle.v1,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    // Each route has its own token bucket: a flood on /v1 is answered 429 without touching /health's
    // budget (a starved health check would withdraw the region and could start a failover).
    const routeThrottle = (limits: { rateLimit: number; burstLimit: number }) => ({
      ThrottlingRateLimit: limits.rateLimit,
      ThrottlingBurstLimit: limits.burstLimit,
    });
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = {
      [ROUTE_KEYS.v1]: routeThrottle(throttle.v1),
      [ROUTE_KEYS.internal]: routeThrottle(throttle.internal),
      [`GET ${topology.gtm.healthCheck.path}`]: routeThrottle(throttle.health),
    };
    // Route settings may only name routes that exist.
    for (const route of [...v1, ...internal, ...health]) this.stage.node.addDependency(route);

    const hostName = regionHostName(topology, region);
    this.regionalUrl = `https://${hostName}`;
    this.addCustomDomains(topology, hostName);
  }

  private addCustomDomains(topology: Topology, hostName: string): void {
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: topology.gtm.hostedZoneId,
      zoneName: topology.gtm.hostedZoneName,
    });
    const certificate = new acm.Certificate(this, 'Certificate', {
      domainName: hostName,
      subjectAlternativeNames: [topology.gtm.domainName],
      validation: acm.CertificateValidation.fromDns(zone),
    });
    const regional = this.mapDomain('RegionalDomain', hostName, certificate);
    this.mapDomain('GlobalDomain', topology.gtm.domainName, certificate);
    // Only the per-region name gets a record here; the shared name's records (one per region, with
    // health checks) belong to the global stack. Its CNAME points at this name, and API Gateway picks
    // the custom domain by SNI, so both names reach this API through the same regional endpoint.
    new route53.ARecord(this, 'RegionalRecord', {
      zone,
      recordName: hostName,
      target: route53.RecordTarget.fromAlias(
        new route53targets.ApiGatewayv2DomainProperties(
          regional.regionalDomainName,
          regional.regionalHostedZoneId,
        ),
      ),
    });
  }

  private mapDomain(id: string, name: string, certificate: acm.ICertificate): apigwv2.DomainName {
    const domain = new apigwv2.DomainName(this, id, {
      domainName: name,
      certificate,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, `${id}Mapping`, {
      api: this.httpApi,
      domainName: domain,
      stage: this.stage,
    });
    return domain;
  }
}
