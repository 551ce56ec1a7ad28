import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { consoleAsset } from '../../console/assets.ts';
import { UsageError } from '../../ops/errors.ts';
import { executionNameFor } from '../../ops/execution-name.ts';
import { stepsOf } from '../../ops/history.ts';
import type { Runbook } from '../../ops/ports.ts';
import { type DrillReport, executionReport, writeReport } from '../../ops/report/index.ts';
import { buildRunbookRequest, type RunbookOptions } from '../../ops/runbook-requests.ts';
import { ExecutionAlreadyExistsError, UnknownExecutionError, UnknownSandboxRegionError } from '../errors.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { DrillRegistry } from './drills.ts';
import { sandboxReadiness } from './readiness.ts';
import { conflictRegion, lagSeries, openConflicts, partitionMap, sandboxStatus } from './views.ts';

export { sandboxStatus } from './views.ts';

/** A control request: what the CLI subcommands and the console send to the running sandbox. */
export type ControlRequest =
  | { action: 'status' }
  | { action: 'check' }
  | { action: 'down' }
  | { action: 'kill-region' | 'revive-region'; region: string }
  | { action: 'partition'; a: string; b: string }
  | { action: 'latency'; a: string; b: string; ms: number }
  | { action: 'heal' }
  | { action: 'execution-start'; runbook: string; region: string; input: unknown; executionName?: string }
  | { action: 'execution-describe' | 'execution-history' | 'execution-report'; executionArn: string }
  | { action: 'runbook-start'; runbook: Runbook; options: RunbookOptions }
  | { action: 'executions' }
  | { action: 'conflicts-list' }
  | { action: 'conflicts-resolve'; region?: string; input: unknown }
  | { action: 'readiness' }
  | { action: 'map' }
  | { action: 'lag-series' }
  | { action: 'drill-start'; region: string; phaseMs?: number }
  | { action: 'drill-status'; id: string; fromLine?: number }
  | { action: 'reports' }
  | { action: 'report'; id: string };

async function body(request: IncomingMessage): Promise<ControlRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlRequest;
}

interface Context {
  readonly sandbox: Sandbox;
  readonly drills: DrillRegistry;
  readonly onDown: () => void;
}

/** A report of one execution from its history (every runbook execution can produce one). */
function executionReportOf(ctx: Context, executionArn: string): DrillReport {
  const described = ctx.sandbox.describeExecution(executionArn);
  const report = executionReport({
    executionArn,
    runbook: described.stateMachine.replace(/^multiactive-[a-z0-9-]+?-(?=[A-Z])/, ''),
    region: described.region,
    env: ctx.sandbox.topology.name,
    target: 'sandbox',
    history: ctx.sandbox.executionHistory(executionArn),
  });
  writeReport(report, `${ctx.drills.dir}/${report.id}`);
  return report;
}

type Handler = (ctx: Context, request: never) => Promise<unknown> | unknown;

const HANDLERS: Record<ControlRequest['action'], Handler> = {
  status: (ctx) => sandboxStatus(ctx.sandbox),
  check: async (ctx) => {
    await ctx.sandbox.quiesce();
    return ctx.sandbox.check();
  },
  down: (ctx) => {
    setImmediate(ctx.onDown);
    return { stopping: true };
  },
  'kill-region': async (ctx, r: { region: string }) => {
    await ctx.sandbox.killRegion(r.region);
    return { killed: r.region };
  },
  'revive-region': async (ctx, r: { region: string }) => {
    await ctx.sandbox.reviveRegion(r.region);
    return { revived: r.region };
  },
  partition: (ctx, r: { a: string; b: string }) => {
    ctx.sandbox.partition(r.a, r.b);
    return { partitioned: [r.a, r.b] };
  },
  latency: (ctx, r: { a: string; b: string; ms: number }) => {
    ctx.sandbox.setLatency(r.a, r.b, r.ms);
    return { latency: [r.a, r.b, r.ms] };
  },
  heal: (ctx) => {
    ctx.sandbox.heal();
    return { healed: true };
  },
  'execution-start': (ctx, r: Extract<ControlRequest, { action: 'execution-start' }>) => {
    try {
      return {
        ...ctx.sandbox.startExecution(r.region, r.runbook, r.input, r.executionName),
        existing: false,
      };
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExistsError)) throw error;
      return { executionArn: error.executionArn, existing: true };
    }
  },
  'execution-describe': (ctx, r: { executionArn: string }) => ctx.sandbox.describeExecution(r.executionArn),
  'execution-history': (ctx, r: { executionArn: string }) => ({
    events: ctx.sandbox.executionHistory(r.executionArn),
  }),
  'execution-report': (ctx, r: { executionArn: string }) => executionReportOf(ctx, r.executionArn),
  'runbook-start': (ctx, r: { runbook: Runbook; options: RunbookOptions }) => {
    const names = ctx.sandbox.regions.map((x) => x.name);
    const request = buildRunbookRequest(r.runbook, r.options, names);
    const name = executionNameFor(request.runbook, request.input, new Date());
    return ctx.sandbox.startExecution(request.region, request.runbook, request.input, name);
  },
  executions: (ctx) => ({
    executions: ctx.sandbox.describeExecutions().map((e, i) => ({
      ...e,
      // The console shows the steps of the latest executions live.
      ...(i < 10 ? { steps: stepsOf(ctx.sandbox.executionHistory(e.executionArn)) } : {}),
    })),
  }),
  'conflicts-list': async (ctx) => ({ open: await openConflicts(ctx.sandbox) }),
  'conflicts-resolve': async (ctx, r: { region?: string; input: unknown }) => {
    const region = r.region ?? (await conflictRegion(ctx.sandbox, r.input));
    return ctx.sandbox.runStateMachine(region, 'ResolveConflict', r.input);
  },
  readiness: (ctx) => sandboxReadiness(ctx.sandbox),
  map: (ctx) => partitionMap(ctx.sandbox),
  'lag-series': (ctx) => ({ links: lagSeries(ctx.sandbox) }),
  'drill-start': (ctx, r: { region: string; phaseMs?: number }) =>
    ctx.drills.start(r.region, r.phaseMs ?? (ctx.sandbox.timing.awsTimeScale < 1 ? 3_000 : 15_000)),
  'drill-status': (ctx, r: { id: string; fromLine?: number }) => ctx.drills.status(r.id, r.fromLine),
  reports: (ctx) => ({ reports: ctx.drills.reports() }),
  report: (ctx, r: { id: string }) => ctx.drills.report(r.id) ?? { error: 'NotFound' },
};

function statusOf(error: unknown): number {
  if (error instanceof UnknownSandboxRegionError || error instanceof UnknownExecutionError) return 404;
  if (error instanceof SyntaxError || error instanceof UsageError) return 400;
  return 500;
}

function send(res: ServerResponse, status: number, type: string, payload: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(payload);
}

async function serveGet(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const asset = await consoleAsset(path);
  if (asset) return send(res, 200, asset.type, asset.body);
  if (path === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
  const report = /^\/reports\/([\w.-]+)\/report\.html$/.exec(path);
  const file = report ? ctx.drills.htmlPath(report[1]!) : undefined;
  if (file) return send(res, 200, 'text/html; charset=utf-8', readFileSync(file));
  send(res, 404, 'text/plain', 'not found');
}

/**
 * Serves the control endpoint on a loopback port: POST / with a ControlRequest (JSON answer) for the CLI
 * and the console, and GET / for the web console. Every action answers quickly: a runbook is started and
 * then followed by polling, so no HTTP timeout applies to how long it runs.
 */
export async function startControlServer(
  sandbox: Sandbox,
  onDown: () => void,
  options: { reportsDir?: string } = {},
): Promise<{ server: Server; url: string; drills: DrillRegistry }> {
  const drills = new DrillRegistry(sandbox, options.reportsDir ?? '.sandbox/reports');
  const ctx: Context = { sandbox, drills, onDown };
  const server = createServer(async (req, res) => {
    try {
      if (req.method === 'GET') return await serveGet(ctx, req, res);
      const request = await body(req);
      const handler = HANDLERS[request.action] as ((c: Context, r: ControlRequest) => unknown) | undefined;
      if (!handler)
        return send(
          res,
          400,
          'application/json',
          JSON.stringify({ error: 'UnknownAction', message: `unknown action ${String(request.action)}` }),
        );
      const result = await handler(ctx, request);
      send(res, 200, 'application/json', JSON.stringify(result));
    } catch (error) {
      send(
        res,
        statusOf(error),
        'application/json',
        JSON.stringify({ error: (error as Error).name, message: (error as Error).message }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, drills };
}
