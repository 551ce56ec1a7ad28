import { regionNames, type Topology } from '../../config/index.ts';
import {
  type AwsReadinessNames,
  type ReadinessAuthorization,
  readinessAuthorizations,
} from '../../ops/aws-readiness.ts';
import type { ReadinessReport, ReadinessSnapshot } from '../../ops/readiness.ts';
import {
  evaluateOnSchedule,
  READINESS_METRIC,
  type ReadinessMetrics,
} from '../../ops/scheduled-readiness.ts';
import { healthChecksOf } from '../cdk/health-checks.ts';
import { resourcesOfType, type StackEnvironment } from '../cdk/intrinsics.ts';
import type { StackTemplates } from '../cdk/templates.ts';
import { alarmsOf, type LocalMetrics } from '../cloudwatch/index.ts';
import { sandboxReadinessSnapshot } from '../control/readiness.ts';
import { SandboxError } from '../errors.ts';
import { asSandbox, type CallDescription, currentCaller } from '../iam/index.ts';
import type { SandboxRegion } from './region.ts';
import type { Sandbox } from './sandbox.ts';

/** The names the template hands the readiness function (its READINESS_NAMES variable), as in Lambda. */
function namesOf(templates: StackTemplates, stack: string, env: StackEnvironment): AwsReadinessNames {
  const template = templates[stack];
  const fn = template
    ? resourcesOfType(template, 'AWS::Lambda::Function', env).find(({ properties }) =>
        String(properties.FunctionName ?? '').endsWith('-readiness'),
      )
    : undefined;
  const variables = (fn?.properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const names = variables?.READINESS_NAMES;
  if (typeof names !== 'string')
    throw new SandboxError(`no readiness function with READINESS_NAMES in ${stack}`);
  return JSON.parse(names) as AwsReadinessNames;
}

/** The environment as deployed in the templates: health check ids, queue names, alarms per region. */
function deployedOf(
  topology: Topology,
  templates: StackTemplates,
  env: (region: string) => StackEnvironment,
) {
  const global = templates[`multiactive-${topology.name}-global`];
  const cells = regionNames(topology).map((region) => ({
    region,
    template: templates[`multiactive-${topology.name}-${region}`],
  }));
  const queues = new Set<string>();
  const alarms: Array<{ region: string; name: string }> = [];
  for (const { region, template } of [...cells, { region: 'us-east-1', template: global }]) {
    if (!template) continue;
    for (const { properties } of resourcesOfType(template, 'AWS::SQS::Queue', env(region)))
      if (typeof properties.QueueName === 'string') queues.add(properties.QueueName);
    alarms.push(...alarmsOf(template, env(region)).alarms.map((a) => ({ region, name: a.name })));
  }
  return {
    healthCheckIds: global ? healthChecksOf(global, env('us-east-1')).map((c) => c.healthCheckId) : [],
    queues: [...queues],
    alarms,
  };
}

const callOf = (a: ReadinessAuthorization): CallDescription => ({
  service: a.action.split(':')[0]!,
  operation: a.action,
  items: 1,
  requests: [{ action: a.action, resource: a.resource }],
});

/**
 * The calls one region's readiness function makes in AWS (lib/ops/aws-readiness.ts), as IAM checks
 * them, for the environment the templates deploy (names from the function's READINESS_NAMES).
 */
export function readinessCalls(input: {
  readonly topology: Topology;
  readonly region: string;
  readonly templates: StackTemplates;
  readonly env: (region: string) => StackEnvironment;
}): { names: AwsReadinessNames; calls: CallDescription[] } {
  const { topology, region, templates, env } = input;
  const names = namesOf(templates, `multiactive-${topology.name}-${region}`, env(region));
  const deployed = deployedOf(topology, templates, env);
  return { names, calls: readinessAuthorizations(topology, names, deployed).map(callOf) };
}

/**
 * The sandbox's answers, shared by the regions' evaluations of one tick: in AWS each region reads the
 * APIs itself, here every region would read the same local state (the control tables of all regions
 * each time), which on a loaded machine slows the APIs the sandbox serves beside it. The regions' schedules
 * start together, so their runs of one tick are well within SHARED_FOR_MS of each other.
 */
const SHARED_FOR_MS = 1_000;
const shared = new WeakMap<Sandbox, { at: number; snapshot: Promise<ReadinessSnapshot> }>();

function sharedSnapshot(sandbox: Sandbox, freshMs: number): Promise<ReadinessSnapshot> {
  const kept = shared.get(sandbox);
  if (kept && Date.now() - kept.at < freshMs) return kept.snapshot;
  const snapshot = asSandbox(() => sandboxReadinessSnapshot(sandbox));
  shared.set(sandbox, { at: Date.now(), snapshot });
  return snapshot;
}

/** The Readiness metric as the function's EMF would put it, in its own region's CloudWatch. */
function localReadinessMetrics(
  metrics: LocalMetrics,
  names: AwsReadinessNames,
  region: string,
): ReadinessMetrics {
  const metric = {
    namespace: names.metrics.namespace,
    name: READINESS_METRIC,
    dimensions: { service: names.metrics.readinessService },
    region,
  };
  return { record: (report) => metrics.put(metric, report.ready ? 1 : 0) };
}

/**
 * One region's scheduled readiness function in the sandbox. It runs as the function's role: every call
 * the AWS snapshot makes (lib/ops/aws-readiness.ts) is authorized first, as that role, against the
 * synthesized grants, so a missing row of the access table fails here with AccessDeniedException as in
 * AWS; then the sandbox answers those questions from its own state (`sandboxReadinessSnapshot`), and the
 * evaluation and its Readiness datapoint are the lib/ code the Lambda runs.
 */
export function sandboxReadinessTarget(input: {
  readonly sandbox: Sandbox;
  readonly region: SandboxRegion;
  readonly templates: StackTemplates;
  readonly env: (region: string) => StackEnvironment;
  /** Every evaluation, for `status` and the console. */
  readonly onReport: (region: string, report: ReadinessReport) => void;
}): () => Promise<ReadinessReport> {
  const { sandbox, region } = input;
  const { names, calls } = readinessCalls({ ...input, topology: sandbox.topology, region: region.name });
  const metrics = localReadinessMetrics(sandbox.metrics, names, region.name);
  return () =>
    region.functionIam.as('readiness', async () => {
      const caller = currentCaller();
      for (const call of calls) await sandbox.iam.require(caller, call, 0);
      const report = await evaluateOnSchedule({
        snapshot: () => sharedSnapshot(sandbox, SHARED_FOR_MS),
        metrics,
      });
      input.onReport(region.name, report);
      return report;
    });
}
