import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { ConflictRecord } from '../../conflict/index.ts';
import { UnknownSandboxRegionError } from '../errors.ts';
import type { Sandbox } from '../platform/sandbox.ts';

/** A control request: what the CLI subcommands send to the running sandbox. */
export type ControlRequest =
  | { action: 'status' }
  | { action: 'check' }
  | { action: 'down' }
  | { action: 'kill-region' | 'revive-region'; region: string }
  | { action: 'partition'; a: string; b: string }
  | { action: 'latency'; a: string; b: string; ms: number }
  | { action: 'heal' }
  | { action: 'runbook'; name: string; region: string; input: unknown }
  | { action: 'conflicts-list' }
  | { action: 'conflicts-resolve'; region?: string; input: unknown };

async function body(request: IncomingMessage): Promise<ControlRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlRequest;
}

/** The sandbox's state for `sandbox status`. */
export function sandboxStatus(sandbox: Sandbox) {
  return {
    regions: sandbox.regions.map((r) => ({
      region: r.name,
      api: r.apiUrl,
      dynamodb: r.endpoint,
      down: r.isDown,
      healthy: sandbox.gtm.checker.isHealthy(r.name),
      counters: r.functions.counters,
      deadLetters: r.deadLetters.length,
    })),
    frontDoor: sandbox.gtm.frontDoorUrl,
    dns: { port: sandbox.gtm.dnsPort, name: sandbox.gtm.dnsName },
    links: sandbox.regions.flatMap((a) =>
      sandbox.regions
        .filter((b) => b !== a)
        .map((b) => ({ from: a.name, to: b.name, ...sandbox.wan.link(a.name, b.name) })),
    ),
    lag: sandbox.lag.links(sandbox.regions.map((r) => r.name)),
    executions: sandbox.executions(),
  };
}

/** Open conflicts of every live region, one entry per pair with the regions that hold it open. */
async function openConflicts(sandbox: Sandbox) {
  const byPair = new Map<string, ConflictRecord & { regions: string[] }>();
  for (const region of sandbox.regions.filter((r) => !r.isDown)) {
    for (const record of await region.stores.conflicts.listOpen()) {
      const key = `${record.aggregateType}#${record.aggregateId}#${record.eventIds.join('#')}`;
      const seen = byPair.get(key) ?? { ...record, regions: [] };
      byPair.set(key, { ...seen, regions: [...seen.regions, region.name] });
    }
  }
  return [...byPair.values()];
}

async function handle(sandbox: Sandbox, request: ControlRequest, onDown: () => void): Promise<unknown> {
  switch (request.action) {
    case 'status':
      return sandboxStatus(sandbox);
    case 'check':
      await sandbox.quiesce();
      return sandbox.check();
    case 'down':
      setImmediate(onDown);
      return { stopping: true };
    case 'kill-region':
      await sandbox.killRegion(request.region);
      return { killed: request.region };
    case 'revive-region':
      await sandbox.reviveRegion(request.region);
      return { revived: request.region };
    case 'partition':
      sandbox.partition(request.a, request.b);
      return { partitioned: [request.a, request.b] };
    case 'latency':
      sandbox.setLatency(request.a, request.b, request.ms);
      return { latency: [request.a, request.b, request.ms] };
    case 'heal':
      sandbox.heal();
      return { healed: true };
    case 'runbook':
      return sandbox.runStateMachine(request.region, request.name, request.input);
    case 'conflicts-list':
      return { open: await openConflicts(sandbox) };
    case 'conflicts-resolve': {
      const region = request.region ?? sandbox.regions.find((r) => !r.isDown)?.name ?? '';
      return sandbox.runStateMachine(region, 'ResolveConflict', request.input);
    }
  }
}

/** Serves the control endpoint on a loopback port: POST / with a ControlRequest, JSON answer. */
export async function startControlServer(
  sandbox: Sandbox,
  onDown: () => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      const result = await handle(sandbox, await body(req), onDown);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      const status = error instanceof UnknownSandboxRegionError ? 404 : 500;
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: (error as Error).name, message: (error as Error).message }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}` };
}
