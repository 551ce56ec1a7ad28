import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
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
}

/** Stage-wide limits; a runaway client hits these before it exhausts the account's Lambda concurrency. */
export const API_THROTTLE = { rateLimit: 1_000, burstLimit: 2_000 } as const;

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
 * The cell's HTTP API: `/v1/{proxy+}` and the health route, served on two custom domains: the shared
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
    });
    const routes = [
      ...this.httpApi.addRoutes({ path: '/v1/{proxy+}', methods: [apigwv2.HttpMethod.ANY], integration }),
      ...this.httpApi.addRoutes({
        path: topology.gtm.healthCheck.path,
        methods: [apigwv2.HttpMethod.GET],
        integration,
      }),
    ];
    for (const route of routes) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        "Authentication is the application's concern and differs per adopter (attach a JWT or Lambda " +
          'authorizer as defaultAuthorizer); /health must stay open for Route 53 health checkers.',
      );
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

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
