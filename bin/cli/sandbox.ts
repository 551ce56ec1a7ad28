import '../../lib/sandbox/polyfills.ts';
import { join } from 'node:path';
import type { ConflictPolicy } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/ops/errors.ts';
import { startControlServer } from '../../lib/sandbox/control/server.ts';
import {
  removeStateFile,
  type SandboxStateFile,
  stateFilePath,
  writeStateFile,
} from '../../lib/sandbox/control/state-file.ts';
import { demoWorkloadFor } from '../../lib/sandbox/demo/clients.ts';
import { formatReport } from '../../lib/sandbox/demo/report.ts';
import { runDemo } from '../../lib/sandbox/demo/scenario.ts';
import type { RoutingPolicy } from '../../lib/sandbox/gtm/index.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { cliApplication } from './application.ts';
import { lineSpinner } from './progress.ts';

/** Options of `start` and `sandbox up`. */
export interface UpOptions {
  readonly once?: boolean;
  readonly fast?: boolean;
  /** The environment whose topology runs (default dev). */
  readonly env?: string;
  /** How many of its regions (default: all). */
  readonly regions?: number;
  readonly mode: 'redirect' | 'proxy';
  readonly policy?: RoutingPolicy;
  readonly dataDir?: string;
  readonly conflictPolicy?: Record<string, ConflictPolicy>;
  readonly json?: boolean;
}

/** `--conflict-policy profile=manual` (repeatable) as a map. */
export function parseConflictPolicy(value: string, previous: Record<string, ConflictPolicy> = {}) {
  const [type, policy] = value.split('=');
  if (!type || !['lww', 'rule', 'manual'].includes(policy ?? ''))
    throw new UsageError('--conflict-policy is TYPE=lww|rule|manual, e.g. profile=manual');
  return { ...previous, [type]: policy as ConflictPolicy };
}

const started = Date.now();
const stamp = (line: string) => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`;

/** Starts the sandbox with a spinner showing its progress. */
export async function bringUp(options: UpOptions): Promise<Sandbox> {
  const progress = lineSpinner(process.stderr.isTTY === true && !options.json, 'starting the sandbox');
  const log = (line: string) =>
    process.stderr.isTTY && !options.json ? progress.line(line) : console.log(stamp(line));
  log(
    `sandbox: env ${options.env ?? 'dev'}, ${options.regions ?? 'all'} regions${options.fast ? ', fast timers' : ''}, front door in ${options.mode} mode`,
  );
  try {
    const sandbox = await Sandbox.start({
      application: cliApplication(),
      env: options.env ?? 'dev',
      ...(options.regions === undefined ? {} : { regions: options.regions }),
      fast: options.fast === true,
      mode: options.mode,
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.conflictPolicy ? { conflictPolicies: options.conflictPolicy } : {}),
      log,
    });
    progress.done(
      true,
      `sandbox up: templates from ${sandbox.templateSource}, ${sandbox.wiredRules.length} rules wired`,
    );
    return sandbox;
  } catch (error) {
    progress.done(false, 'the sandbox did not start');
    throw error;
  }
}

/** What a client outside the process needs to call the APIs (the state file keeps it for the CLI). */
async function clientAuth(sandbox: Sandbox): Promise<SandboxStateFile['auth']> {
  const { auth } = sandbox;
  if (auth.type === 'jwt') return { type: 'jwt', token: await sandbox.apiClient.token() };
  const { accessKeyId, secretAccessKey } = auth.credentials!;
  return { type: 'iam', accessKeyId, secretAccessKey };
}

function printUrls(sandbox: Sandbox, consoleUrl?: string): void {
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
  if (consoleUrl) console.log(`console:          ${consoleUrl}   (open it in a browser)`);
}

/** Keeps serving (control endpoint + console) until Ctrl-C or `multiactive sandbox down`. */
export async function serve(sandbox: Sandbox): Promise<number> {
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      console.log(stamp('stopping the sandbox...'));
      server.close();
      await sandbox.stop();
      removeStateFile();
      process.exit(0);
    })();
    return stopping;
  };
  const { server, url } = await startControlServer(sandbox, () => void stop(), {
    reportsDir: join(stateFilePath(), '..', 'reports'),
  });
  writeStateFile({
    pid: process.pid,
    controlUrl: url,
    consoleUrl: `${url}/`,
    frontDoorUrl: sandbox.gtm.frontDoorUrl,
    dnsPort: sandbox.gtm.dnsPort,
    dnsName: sandbox.gtm.dnsName,
    regions: Object.fromEntries(sandbox.regions.map((r) => [r.name, r.apiUrl])),
    startedAt: new Date().toISOString(),
    auth: await clientAuth(sandbox),
  });
  printUrls(sandbox, `${url}/`);
  console.log(
    `control:          ${url}  (.sandbox/state.json); Ctrl-C or \`multiactive sandbox down\` to stop`,
  );
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}

/** `multiactive start`: the demo, then keeps serving (or exits with the verdict under --once). */
export async function startDemo(options: UpOptions): Promise<number> {
  // An application the demo has no workload for is refused before a sandbox starts.
  demoWorkloadFor(cliApplication());
  const sandbox = await bringUp(options);
  try {
    const report = await runDemo(sandbox, {
      phaseMs: options.fast ? 3_000 : 15_000,
      log: (l) => console.log(stamp(l)),
    });
    for (const line of formatReport(report)) console.log(line);
    if (options.once) {
      await sandbox.stop();
      // A call AWS would refuse is as much a failure of the run as a diverged region.
      return report.check.passed && (report.iam?.denied ?? 0) === 0 ? 0 : 1;
    }
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  return serve(sandbox);
}

/** `multiactive sandbox up`. */
export async function sandboxUp(options: UpOptions): Promise<number> {
  const sandbox = await bringUp(options);
  if (!options.once) return serve(sandbox);
  printUrls(sandbox);
  await sandbox.quiesce();
  const check = await sandbox.check();
  console.log(`consistency check: ${check.verdict}`);
  await sandbox.stop();
  return check.passed ? 0 : 1;
}
