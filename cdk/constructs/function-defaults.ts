import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Repository root: entries, the lock file and tsconfig are resolved from here, not from the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb'] as const;

/**
 * The lock file bundling hashes and installs from, and its directory the bundling root: this package's own
 * in a checkout (or one linked from a `file:` path), else, installed from a registry, the lock file of the
 * project that installed it (npm never packs a package's lock file; the handlers are under that project).
 */
export function lockFileOf(root: string): string {
  for (let dir = root; ; dir = dirname(dir)) {
    const found = LOCK_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
    if (found) return found;
    // None anywhere: CDK's own error names the file it expected.
    if (dirname(dir) === dir) return join(root, 'package-lock.json');
  }
}

const LOCK_FILE = lockFileOf(PROJECT_ROOT);

/** The handlers of a cell; each is `functions/<name>/handler.ts` exporting `handler`. */
export const FUNCTION_NAMES = [
  'api',
  'health',
  'publisher',
  'applier',
  'lag-monitor',
  'runbook',
  'watchdog',
  'readiness',
  'saga',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * The retention archiver (`functions/archiver`): a cell function only where some aggregate type has
 * `lifecycle.retentionDays` (cdk/constructs/cell-archive.ts), so it is not one of `FUNCTION_NAMES`.
 */
export const ARCHIVER = 'archiver';
/** Every handler a cell may have: `FUNCTION_NAMES` and, with a retention, the archiver. */
export type HandlerName = FunctionName | typeof ARCHIVER;

export interface FunctionSettings {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
}

export const FUNCTION_SETTINGS: Readonly<Record<HandlerName, FunctionSettings>> = {
  api: {
    description: 'HTTP API: commands, queries, and peer requests on /internal',
    memorySize: 1024,
    // Below API Gateway's 30 s integration limit, above routing.forwardTimeoutMs to a peer.
    timeout: Duration.seconds(29),
  },
  health: {
    description: '/health for Route 53 and the watchdogs: a store probe and the traffic state, within 2 s',
    memorySize: 256,
    // Route 53 waits 2 s for an answer; the handler answers from what it has by 1.5 s.
    timeout: Duration.seconds(5),
  },
  publisher: {
    description: 'Events table stream -> PutEvents to the local replication bus',
    memorySize: 512,
    timeout: Duration.seconds(60),
  },
  applier: {
    description: 'Replication bus -> idempotent apply into the local tables',
    memorySize: 512,
    timeout: Duration.seconds(60),
  },
  'lag-monitor': {
    description: 'Every minute: heartbeats through the pipeline and the ReplicationLagMs metric',
    memorySize: 256,
    // It emits a heartbeat every heartbeatIntervalMs for the whole minute, so it outlives one tick.
    timeout: Duration.seconds(75),
  },
  runbook: {
    description: 'Step Functions runbook tasks (switchover, failover, failback, repair, resolve-conflict)',
    memorySize: 1024,
    timeout: Duration.minutes(5),
  },
  watchdog: {
    description: "Every minute: probes the peers every few seconds, claims and starts a lost peer's Failover",
    memorySize: 256,
    // It ticks through the whole minute, like the lag monitor.
    timeout: Duration.seconds(75),
  },
  readiness: {
    description:
      'Every minute: readiness (plan evaluation) of the whole environment, as the Readiness metric',
    memorySize: 256,
    // It reads every region (stacks, health checks, alarms, lag, queues, control tables, the last Repair).
    timeout: Duration.seconds(50),
  },
  saga: {
    description: 'Saga (transfer) steps for the Saga state machine, and the recovery sweep every minute',
    memorySize: 1024,
    // A step crosses at most a forward to a peer (routing.forwardTimeoutMs) plus local writes; the sweep
    // lists and starts at most a few hundred executions.
    timeout: Duration.seconds(60),
  },
  archiver: {
    description:
      "Daily: moves the payloads of old core events covered by a snapshot and held by every peer to the region's S3 archive",
    memorySize: 512,
    // One pass over every aggregate of the types with a retention; a pass cut short is resumed the next day.
    timeout: Duration.minutes(15),
  },
};

/** Powertools service name, which is also the `service` dimension of every metric a function emits. */
export function serviceName(name: HandlerName): string {
  return `multiactive-${name}`;
}

/** The lag monitor emits ReplicationLagMs; the applier emits QuarantinedEvents. Alarms match these. */
export const LAG_METRIC_SERVICE = serviceName('lag-monitor');
export const QUARANTINE_METRIC_SERVICE = serviceName('applier');

/** Why each function has no Lambda dead-letter queue (cdk-nag Serverless-LambdaDLQ). */
export const NO_DLQ_REASON: Readonly<Record<HandlerName, string>> = {
  api: 'Invoked synchronously by API Gateway: there is no asynchronous retry whose failures a DLQ could keep.',
  health:
    'Invoked synchronously by API Gateway for Route 53 and the watchdogs: no asynchronous retry to keep.',
  publisher:
    'Invoked by the DynamoDB stream event source mapping, whose on-failure SQS destination keeps failed batches.',
  applier:
    'Asynchronous failures go to an on-failure SQS destination (configureAsyncInvoke), which keeps the ' +
    'request and the error; a DLQ would duplicate it. EventBridge delivery failures have their own DLQ.',
  'lag-monitor':
    'A scheduled tick every minute; a failed tick is superseded by the next one and its error alarm fires.',
  runbook: 'Invoked synchronously by Step Functions, which retries, catches and records every failure.',
  saga:
    'Invoked synchronously by Step Functions (which retries and catches every failure) and by the sweep ' +
    'schedule, whose next tick a minute later redoes what a failed one missed.',
  watchdog:
    'A scheduled run every minute; a failed run is superseded by the next one and its error alarm fires.',
  readiness:
    'A scheduled evaluation every minute; a failed one publishes no Readiness datapoint, which its alarm treats as not ready.',
  archiver:
    'A scheduled pass once a day; a failed pass leaves every event hot (nothing is stubbed before its object is written and read back) and the next pass redoes it; its error alarm fires.',
};

/**
 * Node.js 22 is the runtime this project builds and tests for (TOOLCHAIN.md); cdk-nag asks for the
 * newest family. Moving to 24 is a deliberate upgrade, not a side effect of a synth.
 */
export const RUNTIME_REASON =
  'Node.js 22 (LTS, supported by Lambda) is the runtime the handlers are built and tested for; upgrading is a deliberate change.';

export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * ESM bundles with the locally installed esbuild (no Docker). Some dependencies still `require()`
 * Node built-ins; in an ESM bundle `require` does not exist, hence the createRequire banner.
 * The AWS SDK v3 is left out: the Node.js 22 runtime ships it.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  mainFields: ['module', 'main'],
  target: 'node22',
  minify: true,
  sourceMap: true,
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  forceDockerBundling: false,
};

/** The import every bundle resolves to the application config module (functions/shared/application-module.d.ts). */
export const APPLICATION_ALIAS = 'multiactive-application';

export const FUNCTION_DEFAULTS = {
  runtime: lambda.Runtime.NODEJS_22_X,
  architecture: lambda.Architecture.ARM_64,
  tracing: lambda.Tracing.ACTIVE,
  bundling: BUNDLING,
  projectRoot: dirname(LOCK_FILE),
  depsLockFilePath: LOCK_FILE,
} as const;

/** Environment every function gets besides its tables, bus and identity. */
export const COMMON_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_METRICS_NAMESPACE: 'multiactive',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
};
