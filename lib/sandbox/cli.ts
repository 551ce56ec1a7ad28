import './polyfills.ts';
import { parseUp, type UpOptions, USAGE, UsageError } from './cli-args.ts';
import { callSandbox, chaosRequest, conflictsRequest, runbookRequest } from './cli-remote.ts';
import { startControlServer } from './control/server.ts';
import {
  readStateFile,
  removeStateFile,
  type SandboxStateFile,
  writeStateFile,
} from './control/state-file.ts';
import { formatReport } from './demo/report.ts';
import { runDemo } from './demo/scenario.ts';
import { SandboxError, UnknownSandboxRegionError } from './errors.ts';
import { Sandbox } from './platform/sandbox.ts';

const started = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function bringUp(options: UpOptions): Promise<Sandbox> {
  log(
    `sandbox: ${options.regions} regions${options.fast ? ', fast timers' : ''}, front door in ${options.mode} mode`,
  );
  const sandbox = await Sandbox.start({
    regions: options.regions,
    fast: options.fast,
    mode: options.mode,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    log,
  });
  log(
    `templates from ${sandbox.templateSource}; ${sandbox.wiredRules.length} rules wired from the synthesized stacks`,
  );
  for (const skipped of sandbox.skippedTargets) log(`  (target not bound in the sandbox: ${skipped})`);
  return sandbox;
}

/** What a client outside the process needs to call the APIs (the state file keeps it for the CLI). */
async function clientAuth(sandbox: Sandbox): Promise<SandboxStateFile['auth']> {
  const { auth } = sandbox;
  if (auth.type === 'jwt') return { type: 'jwt', token: await sandbox.apiClient.token() };
  const { accessKeyId, secretAccessKey } = auth.credentials!;
  return { type: 'iam', accessKeyId, secretAccessKey };
}

function printUrls(sandbox: Sandbox): void {
  console.log('\nregional APIs:');
  for (const r of sandbox.regions)
    console.log(`  ${r.name.padEnd(16)} ${r.apiUrl}   (DynamoDB Local ${r.endpoint})`);
  console.log(
    `front door:       ${sandbox.gtm.frontDoorUrl}   (header x-client-region: <region> says where you are)`,
  );
  console.log(`DNS:              dig @127.0.0.1 -p ${sandbox.gtm.dnsPort} ${sandbox.gtm.dnsName} A (or TXT)`);
  console.log(
    sandbox.auth.type === 'jwt'
      ? 'auth:             JWT: Authorization: Bearer <auth.token of .sandbox/state.json>'
      : 'auth:             SigV4: curl --aws-sigv4 "aws:amz:<region>:execute-api" --user <auth.accessKeyId>:<auth.secretAccessKey>',
  );
}

/** Keeps serving with a control endpoint until Ctrl-C or `multiactive sandbox down`. */
async function serve(sandbox: Sandbox): Promise<number> {
  let stopping: Promise<void> | undefined;
  const { server, url } = await startControlServer(sandbox, () => void stop());
  const stop = () => {
    stopping ??= (async () => {
      log('stopping the sandbox...');
      server.close();
      await sandbox.stop();
      removeStateFile();
      process.exit(0);
    })();
    return stopping;
  };
  writeStateFile({
    pid: process.pid,
    controlUrl: url,
    frontDoorUrl: sandbox.gtm.frontDoorUrl,
    dnsPort: sandbox.gtm.dnsPort,
    dnsName: sandbox.gtm.dnsName,
    regions: Object.fromEntries(sandbox.regions.map((r) => [r.name, r.apiUrl])),
    startedAt: new Date().toISOString(),
    auth: await clientAuth(sandbox),
  });
  printUrls(sandbox);
  console.log(
    `control:          ${url}  (.sandbox/state.json); Ctrl-C or \`multiactive sandbox down\` to stop`,
  );
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}

async function start(args: readonly string[]): Promise<number> {
  const options = parseUp(args);
  const sandbox = await bringUp(options);
  try {
    const report = await runDemo(sandbox, { phaseMs: options.fast ? 3_000 : 15_000, log });
    for (const line of formatReport(report)) console.log(line);
    if (options.once) {
      await sandbox.stop();
      return report.check.passed ? 0 : 1;
    }
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  return serve(sandbox);
}

async function sandboxUp(args: readonly string[]): Promise<number> {
  const options = parseUp(args);
  const sandbox = await bringUp(options);
  if (!options.once) return serve(sandbox);
  printUrls(sandbox);
  await sandbox.quiesce();
  const check = await sandbox.check();
  console.log(`consistency check: ${check.verdict}`);
  await sandbox.stop();
  return check.passed ? 0 : 1;
}

async function remote(request: Parameters<typeof callSandbox>[0]): Promise<number> {
  const { status, body } = await callSandbox(request);
  console.log(JSON.stringify(body, null, 2));
  if (status === 404) return 2;
  if (status !== 200) return 1;
  if (request.action === 'check') return (body as { passed?: boolean }).passed ? 0 : 1;
  if (request.action === 'runbook' || request.action === 'conflicts-resolve')
    return (body as { status?: string }).status === 'SUCCEEDED' ? 0 : 1;
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  const [sub, ...subArgs] = rest;
  switch (command) {
    case 'start':
      return start(rest);
    case 'sandbox':
      if (sub === 'up') return sandboxUp(subArgs);
      if (sub === 'status') return remote({ action: 'status' });
      if (sub === 'down') return remote({ action: 'down' });
      throw new UsageError(`unknown sandbox command "${sub ?? ''}"`);
    case 'chaos':
      return remote(chaosRequest(rest));
    case 'runbook':
      return remote(runbookRequest(rest, Object.keys(readStateFile()?.regions ?? {})));
    case 'conflicts':
      return remote(conflictsRequest(rest));
    case 'check':
      return remote({ action: 'check' });
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || error instanceof UnknownSandboxRegionError) {
    console.error(`multiactive: ${error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`multiactive: ${error instanceof SandboxError ? error.message : (error as Error).stack}`);
    process.exitCode = 1;
  }
}
process.exit(process.exitCode ?? 0);
