import { regionNames, type Topology } from '../config/index.ts';
import { DynamoControlReplica } from '../ownership/index.ts';
import { tableNames } from '../store/index.ts';
import type { AwsReadClients, AwsReadinessNames } from './aws-readiness.ts';
import { awsReadiness, awsStatus } from './aws-status.ts';
import { UsageError } from './errors.ts';
import { executionNameFor } from './execution-name.ts';
import { stepsOf } from './history.ts';
import { readMapView } from './partition-view.ts';
import { RUNBOOKS, type Runbook } from './ports.ts';
import { executionReport } from './report/index.ts';
import { buildRunbookRequest, type RunbookOptions } from './runbook-requests.ts';

/** One request of the console's control protocol (the sandbox's control endpoint speaks the same). */
export type AdminRequest = { readonly action: string } & Readonly<Record<string, unknown>>;

/** Answers control requests; throws UsageError for one it cannot answer. */
export type AdminControl = (request: AdminRequest) => Promise<unknown>;

/** How long an answer is reused: the console polls every second or two, AWS APIs are throttled. */
const FRESH_MS: Readonly<Record<string, number>> = {
  status: 10_000,
  readiness: 30_000,
  map: 15_000,
  executions: 5_000,
};

/** Actions the console sends that only the sandbox answers so far. */
const SANDBOX_ONLY = new Set([
  'lag-series',
  'conflicts-list',
  'conflicts-resolve',
  'reports',
  'report',
  'drill-start',
  'drill-status',
]);

/** `status --env` in the console's shape (regions, lag per link), with what AWS adds (alarms, readiness). */
async function consoleStatus(topology: Topology, clients: AwsReadClients, names: AwsReadinessNames) {
  const status = await awsStatus(topology, clients, names);
  const versions = [...new Set(status.regions.map((r) => r.version ?? 'unknown'))];
  return {
    ...status,
    target: 'aws',
    version: versions.join(' / '),
    regions: status.regions.map((r) => ({
      ...r,
      down: false,
      healthy: r.healthy === true,
      degradedPeers: [],
      deadLetters: r.deadLetters.reduce((n, d) => n + d.depth, 0),
      counters: {},
    })),
    links: [],
    lag: status.lag.map((l) => ({
      ...l,
      samples: l.lagMs === undefined ? 0 : 1,
      p50Ms: l.lagMs,
      p99Ms: l.lagMs,
    })),
  };
}

/** The newest executions of every runbook in every region, the latest ten with their steps. */
async function recentExecutions(topology: Topology, clients: AwsReadClients) {
  const { executions } = clients;
  const lists = await Promise.all(
    regionNames(topology).flatMap((region) =>
      RUNBOOKS.map((runbook) => executions.list?.(runbook, region, 5) ?? Promise.resolve([])),
    ),
  );
  const newest = lists
    .flat()
    .sort((a, b) => b.startDate - a.startDate)
    .slice(0, 20);
  return {
    executions: await Promise.all(
      newest.map(async (e, i) => ({
        executionArn: e.executionArn,
        stateMachine: `multiactive-${topology.name}-${e.runbook}`,
        region: e.region,
        status: e.status,
        startDate: new Date(e.startDate).toISOString(),
        ...(e.stopDate ? { stopDate: new Date(e.stopDate).toISOString() } : {}),
        ...(i < 10 ? { steps: stepsOf(await executions.history(e.executionArn)) } : {}),
      })),
    ),
  };
}

/**
 * The console's control protocol answered from a deployed environment: status, readiness, the partition
 * map, runbook executions (with their steps) and starting a runbook, read and started with whatever
 * credentials the clients carry (the operator's for `multiactive console --env`; the admin function's role
 * behind the API's authorizer, once that route exists). Answers are reused for a few seconds.
 * @example const control = awsAdminControl({ topology, clients, names }); await control({ action: 'status' });
 */
export function awsAdminControl(input: {
  readonly topology: Topology;
  readonly clients: AwsReadClients;
  readonly names: AwsReadinessNames;
  readonly now?: () => number;
}): AdminControl {
  const { topology, clients, names } = input;
  const now = input.now ?? Date.now;
  const fresh = new Map<string, { at: number; answer: Promise<unknown> }>();
  const answers: Record<string, (request: AdminRequest) => Promise<unknown>> = {
    status: () => consoleStatus(topology, clients, names),
    readiness: () => awsReadiness(topology, clients, names),
    map: () =>
      readMapView(
        regionNames(topology).map(
          (region) =>
            new DynamoControlReplica({
              region,
              client: clients.dynamo(region),
              tableName: tableNames(topology.name).control,
            }),
        ),
        topology.partitions,
        regionNames(topology).length,
      ),
    executions: () => recentExecutions(topology, clients),
    'runbook-start': async (request) => {
      const runbook = request.runbook as Runbook;
      if (!RUNBOOKS.includes(runbook)) throw new UsageError(`unknown runbook ${String(runbook)}`);
      const built = buildRunbookRequest(
        runbook,
        (request.options ?? {}) as RunbookOptions,
        regionNames(topology),
      );
      const executionName = executionNameFor(runbook, built.input, new Date(now()));
      return clients.executions.start({ ...built, executionName });
    },
    'execution-report': async (request) => {
      const executionArn = String(request.executionArn);
      const described = await clients.executions.describe(executionArn);
      return executionReport({
        executionArn,
        runbook: described.runbook,
        region: described.region,
        env: topology.name,
        target: 'aws',
        history: await clients.executions.history(executionArn),
      });
    },
  };
  return async (request) => {
    const answer = answers[request.action];
    if (!answer)
      throw new UsageError(
        SANDBOX_ONLY.has(request.action)
          ? `${request.action} is not available for a deployed environment yet (the sandbox answers it)`
          : `unknown action ${request.action}`,
      );
    const ttl = FRESH_MS[request.action];
    if (ttl === undefined) return answer(request);
    const kept = fresh.get(request.action);
    if (kept && now() - kept.at < ttl) return kept.answer;
    const pending = answer(request);
    fresh.set(request.action, { at: now(), answer: pending });
    pending.catch(() => fresh.delete(request.action));
    return pending;
  };
}
