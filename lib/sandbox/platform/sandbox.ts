import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { type Application, CONFIG_FILE, loadApplication } from '../../app/index.ts';
import { type ConflictPolicy, parseTopology, regionNames, type Topology } from '../../config/index.ts';
import type { FailoverStart } from '../../detection/index.ts';
import { createRegistry } from '../../model/index.ts';
import type { ReadinessReport } from '../../ops/readiness.ts';
import { apiSpecOf } from '../apigateway/index.ts';
import { type ApiClient, createSandboxAuth, type SandboxAuth } from '../auth/index.ts';
import { streamMappingsOf } from '../cdk/event-sources.ts';
import { healthChecksOf } from '../cdk/health-checks.ts';
import type { StackEnvironment } from '../cdk/intrinsics.ts';
import { asyncInvokeConfigsOf, functionTimeoutsOf } from '../cdk/invoke-configs.ts';
import { rulesOfTemplate } from '../cdk/rules.ts';
import { deployedTemplatesOf, environmentStackNames, GLOBAL_REGION } from '../cdk/stacks.ts';
import { loadTemplates, PROJECT_ROOT, type StackTemplates, type TemplateSource } from '../cdk/templates.ts';
import {
  type AlarmChange,
  AlarmEvaluator,
  alarmsOf,
  LocalMetrics,
  queueSamples,
} from '../cloudwatch/index.ts';
import { ExecutionAlreadyExistsError, SandboxError, UnknownSandboxRegionError } from '../errors.ts';
import { LocalEventBus } from '../eventbridge/index.ts';
import type { RoutingPolicy } from '../gtm/index.ts';
import { currentCaller, IamEnforcement, invokeCall, startExecutionCall } from '../iam/index.ts';
import { stateMachinesOf } from '../state-machines/definitions.ts';
import {
  type ExecutionDescription,
  type ExecutionResult,
  StateMachineRunner,
} from '../state-machines/runner.ts';
import { WanNetwork } from '../wan/index.ts';
import { type ConsistencyReport, checkConsistency } from './consistency.ts';
import { type SandboxGtm, startGtm } from './gtm.ts';
import { localInvoker } from './invoke.ts';
import { LagRecorder } from './lag-recorder.ts';
import { SandboxQueues } from './lane-wiring.ts';
import { quiesceRounds } from './quiesce.ts';
import { type DeadLetter, type RunbookFactory, SandboxRegion } from './region.ts';
import { sandboxRunbooks } from './runbook-wiring.ts';
import { scheduledTargetsOf } from './scheduled-functions.ts';
import { sandboxReadinessTarget } from './scheduled-readiness.ts';
import { ScheduledTargets } from './schedules.ts';
import { PipelineTrace } from './stage-trace.ts';
import { defaultTiming, fastTiming, type SandboxTiming } from './timing.ts';
import { type BusHost, wireRules } from './wiring.ts';

/** Options of `Sandbox.start`; every field has a default. */
export interface SandboxOptions {
  /**
   * The application to run (`loadApplication(path)`: its module is synthesized into the stacks); default:
   * the project's `multiactive.config.ts` (the example bank in this repository).
   */
  readonly application?: Application;
  readonly env?: string;
  /** How many of the environment's regions to run (2..all). */
  readonly regions?: number;
  readonly fast?: boolean;
  readonly mode?: 'redirect' | 'proxy';
  readonly policy?: RoutingPolicy;
  /** Persist each region's DynamoDB Local under `<dataDir>/<region>`. */
  readonly dataDir?: string;
  /** Where synthesized templates are cached (`.sandbox/cdk`). */
  readonly cacheDir?: string;
  readonly frontDoorPort?: number;
  readonly dnsPort?: number;
  /** The runbook function of each region (default: the real tasks of lib/runbooks). */
  readonly runbook?: RunbookFactory;
  /** Conflict policy per aggregate type over the environment's (e.g. `{ profile: 'manual' }` to try the queue). */
  readonly conflictPolicies?: Readonly<Record<string, ConflictPolicy>>;
  /**
   * The core ack mode to run with, over the environment's (the templates stay the environment's): a
   * benchmark compares `local` and `quorum` on one environment, same auth and same stacks.
   */
  readonly coreAck?: Topology['core']['ack'];
  /** Overrides of single timers on top of the default or `fast` set (benchmarks pin health checks). */
  readonly timing?: Partial<SandboxTiming>;
  readonly log?: (line: string) => void;
  /**
   * Timestamp every replicated event at each stage of the pipeline and time the quorum ack's steps
   * (`Sandbox.stages`), for the benchmarks; off by default (nothing is recorded, nothing changes).
   */
  readonly traceStages?: boolean;
}

/** A Failover execution a watchdog started. */
export interface WatchdogFailover {
  /** Where it runs (the claiming watchdog's region). */
  readonly region: string;
  readonly name: string;
  /** The region it fails over. */
  readonly lost: string;
  /** Wall-clock ms of the start. */
  readonly at: number;
  result?: ExecutionResult;
}

/** The first `count` regions of a topology, as a topology (latencies kept for the regions left). */
function narrowed(topology: Topology, count: number): Topology {
  const all = regionNames(topology);
  if (!Number.isInteger(count) || count < 2 || count > all.length)
    throw new SandboxError(
      `--regions must be between 2 and ${all.length}: env ${topology.name} has ${all.length} regions (${all.join(', ')})`,
    );
  if (count === all.length) return topology;
  const keep = new Set(all.slice(0, count));
  return parseTopology({
    ...topology,
    regions: topology.regions.filter((r) => keep.has(r.name)),
    latencyMs: Object.fromEntries(
      Object.entries(topology.latencyMs).filter(([pair]) => pair.split('|').every((r) => keep.has(r))),
    ),
  });
}

/** The topology with some aggregates' conflict policies replaced (validated again). */
function withPolicies(topology: Topology, policies: Readonly<Record<string, ConflictPolicy>>): Topology {
  const unknown = Object.keys(policies).filter((type) => !topology.aggregates.some((a) => a.type === type));
  if (unknown.length > 0)
    throw new SandboxError(`no aggregate type ${unknown.join(', ')} in ${topology.name}`);
  if (Object.keys(policies).length === 0) return topology;
  return parseTopology({
    ...topology,
    aggregates: topology.aggregates.map((a) => ({ ...a, conflict: policies[a.type] ?? a.conflict })),
  });
}

/** The topology with another core ack mode (validated again), or as it is. */
function withCoreAck(topology: Topology, ack: Topology['core']['ack'] | undefined): Topology {
  if (ack === undefined || ack === topology.core.ack) return topology;
  return parseTopology({ ...topology, core: { ...topology.core, ack } });
}

/**
 * The whole platform on one machine: a SandboxRegion per region, the WAN between them, the rules and
 * state machines of the synthesized CDK templates, and the GTM in front.
 * @example const sandbox = await Sandbox.start({ fast: true }); ...; await sandbox.stop();
 */
export class Sandbox {
  /** The application it runs (its aggregates, and its demo and chaos workloads when it has them). */
  readonly application: Application;
  readonly topology: Topology;
  readonly timing: SandboxTiming;
  readonly wan: WanNetwork;
  readonly lag: LagRecorder;
  /** Per-stage timestamps of replicated events and quorum-ack step times (`traceStages` only). */
  readonly stages: PipelineTrace | undefined;
  readonly regions: readonly SandboxRegion[];
  readonly templateSource: TemplateSource;
  readonly globalBus: LocalEventBus;
  readonly globalDeadLetters: DeadLetter[] = [];
  readonly skippedTargets: string[] = [];
  readonly wiredRules: string[] = [];
  /** The run's credentials: the internal key, and the client side of `api.auth`. */
  readonly auth: SandboxAuth;
  /** A client with credentials for the APIs and the front door (demo, chaos, benchmarks). */
  readonly apiClient: ApiClient;
  /** The sandbox's CloudWatch: metrics the handlers, the GTM and API Gateway put. */
  readonly metrics: LocalMetrics;
  /** Alarms of the synthesized stacks that the sandbox cannot evaluate (metric math). */
  readonly unevaluatedAlarms: string[] = [];
  /** Hash of the synthesized templates every region runs (the sandbox's "deployed version"). */
  version = '';
  private runner!: StateMachineRunner;
  private gtmRef: SandboxGtm | undefined;
  private alarmsRef: AlarmEvaluator | undefined;
  private schedules: ScheduledTargets | undefined;
  private iamRef: IamEnforcement | undefined;
  private lanes: SandboxQueues | undefined;
  private readonly log: (line: string) => void;
  private readonly started: Promise<ExecutionResult>[] = [];
  private readonly sagaRuns = new Set<Promise<ExecutionResult>>();
  private readonly executionNames = new Set<string>();
  /** Set by the first `stop()`: a repeated call returns the same promise. */
  private stopping: Promise<void> | undefined;
  private readonly failoversByWatchdogs: WatchdogFailover[] = [];
  private readonly readinessReports = new Map<string, ReadinessReport>();

  private constructor(input: {
    application: Application;
    topology: Topology;
    timing: SandboxTiming;
    regions: SandboxRegion[];
    wan: WanNetwork;
    templateSource: TemplateSource;
    lag: LagRecorder;
    stages: PipelineTrace | undefined;
    log: (line: string) => void;
    auth: SandboxAuth;
    metrics: LocalMetrics;
  }) {
    this.application = input.application;
    this.auth = input.auth;
    this.metrics = input.metrics;
    this.apiClient = input.auth.client((origin) => input.regions.find((r) => r.apiUrl === origin)?.name);
    this.lag = input.lag;
    this.stages = input.stages;
    this.topology = input.topology;
    this.timing = input.timing;
    this.regions = input.regions;
    this.wan = input.wan;
    this.templateSource = input.templateSource;
    this.log = input.log;
    this.globalBus = new LocalEventBus({
      name: 'default',
      region: GLOBAL_REGION,
      account: input.topology.account,
      retryBaseDelayMs: input.timing.busRetryBaseMs,
      retryMaxDelayMs: input.timing.busRetryMaxMs,
    });
  }

  /** Starts every region, wires the synthesized rules and state machines, then the GTM. */
  static async start(options: SandboxOptions = {}): Promise<Sandbox> {
    const log = options.log ?? (() => {});
    const application = options.application ?? (await loadApplication(join(PROJECT_ROOT, CONFIG_FILE)));
    if (!application.module)
      throw new SandboxError('the sandbox runs an application loaded with loadApplication(path)');
    const declared = application.topology(options.env ?? 'dev');
    const full = withCoreAck(withPolicies(declared, options.conflictPolicies ?? {}), options.coreAck);
    const topology = narrowed(full, options.regions ?? regionNames(full).length);
    const names = regionNames(topology);
    const timing: SandboxTiming = {
      ...(options.fast
        ? fastTiming()
        : defaultTiming(topology.thresholds.heartbeatIntervalMs, topology.sagas)),
      ...options.timing,
    };
    const wan = new WanNetwork({ regions: regionNames(full), timeScale: timing.wanTimeScale });
    const registry = createRegistry(application.aggregates, topology);
    const lag = new LagRecorder();
    const stages = options.traceStages ? new PipelineTrace() : undefined;
    const auth = await createSandboxAuth(topology);
    const metrics = new LocalMetrics();
    const busName = `multiactive-${topology.name}-bus`;
    const regions = names.map(
      (region) =>
        new SandboxRegion({
          region,
          topology,
          registry,
          sagas: application.sagas,
          wan,
          timing,
          lag,
          ...(stages ? { trace: stages } : {}),
          busName,
          log,
          auth,
          metrics,
          app: application.name,
          // The region's archive bucket is the directory `archive` beside its DynamoDB Local files.
          ...(options.dataDir ? { dataDir: join(options.dataDir, region) } : {}),
        }),
    );
    log(`starting ${names.length} DynamoDB Local JVMs and loading the CDK templates...`);
    const stackNames = environmentStackNames(full.name, regionNames(full));
    // Every boot is let to finish before a failure is thrown, so that no JVM outlives a failed start.
    const [loaded, ...booted] = await Promise.allSettled([
      loadTemplates({
        topology: declared,
        config: application.module,
        stackNames,
        cacheDir: options.cacheDir ?? join(PROJECT_ROOT, '.sandbox', 'cdk'),
      }),
      ...regions.map((r) =>
        r.boot().then(() => log(`  ${r.name}: DynamoDB Local on ${r.endpoint}, tables created`)),
      ),
    ]);
    const failed = [loaded, ...booted].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed || loaded.status === 'rejected') {
      await Promise.allSettled(regions.map((r) => r.stop()));
      wan.close();
      throw failed?.reason;
    }
    const { templates, source } = loaded.value;
    const sandbox = new Sandbox({
      application,
      topology,
      timing,
      regions,
      wan,
      templateSource: source,
      lag,
      stages,
      log,
      auth,
      metrics,
    });
    try {
      await sandbox.assemble(templates, options);
    } catch (error) {
      await sandbox.stop().catch(() => {});
      throw error;
    }
    return sandbox;
  }

  private async assemble(templates: StackTemplates, options: SandboxOptions): Promise<void> {
    this.version = createHash('sha256').update(JSON.stringify(templates)).digest('hex').slice(0, 12);
    const env = (region: string): StackEnvironment => ({ region, account: this.topology.account });
    this.iamRef = IamEnforcement.fromTemplates(
      deployedTemplatesOf(this.topology.name, this.topology.account, templates),
      (denial) =>
        this.log(`IAM: AccessDeniedException for ${denial.caller} (${denial.operation}): ${denial.message}`),
    );
    await this.iamRef.warmUp();
    for (const region of this.regions) region.enforce(this.iamRef);
    const stackNameOf = (region: string) => `multiactive-${this.topology.name}-${region}`;
    const stackOf = (region: string) => templates[stackNameOf(region)];
    for (const region of this.regions) {
      const template = stackOf(region.name);
      if (!template) throw new SandboxError(`no synthesized stack for ${region.name}`);
      const mapping = streamMappingsOf(template, env(region.name)).find((m) =>
        m.tableName.endsWith('-events'),
      );
      if (!mapping) throw new SandboxError(`no stream event source on the events table of ${region.name}`);
      region.connect({
        peers: this.regions.filter((r) => r !== region),
        mapping,
        runbook: options.runbook ?? sandboxRunbooks(() => this.regions),
        sagaStarter: { start: async (input, name) => this.startSaga(region.name, input, name) },
        api: apiSpecOf(template, env(region.name)),
        startFailover: (start) => this.startFailover(region.name, start),
        laneVisibility: (queueArn, changes) =>
          this.lanes ? this.lanes.changeVisibility(region.name, queueArn, changes) : Promise.resolve(),
        functionTimeoutsMs: functionTimeoutsOf(template, env(region.name)),
      });
    }
    const lanes = new SandboxQueues({
      env: this.topology.name,
      iam: this.iamRef,
      log: this.log,
      timeScale: this.timing.awsTimeScale,
    });
    for (const region of this.regions) lanes.addRegion(region, stackOf(region.name)!, env(region.name));
    this.lanes = lanes;
    const machines = this.regions.flatMap((r) => stateMachinesOf(stackOf(r.name)!, env(r.name)));
    this.runner = new StateMachineRunner({
      machines,
      invoke: async (region, functionName, payload, stateMachineArn) => {
        // A Saga execution of a killed region dies with it (its steps would otherwise write to the tables
        // of a region that is gone); the new home's sweep resumes the saga.
        if (this.region(region).isDown && functionName.endsWith('-saga'))
          throw new SandboxError(`${region} is down: ${functionName} cannot run`);
        await this.authorizeTask(region, functionName, payload, stateMachineArn);
        return localInvoker({
          functions: this.region(region).functions,
          env: this.topology.name,
          region,
          functionName,
        })(payload);
      },
      waitScale: this.timing.waitScale,
    });
    // Each region's EventInvokeConfigs, read once (every Lambda target of its rules looks its function up).
    const invokeConfigs = new Map(
      this.regions.map((r) => [r.name, asyncInvokeConfigsOf(stackOf(r.name)!, env(r.name))] as const),
    );
    const ctx = {
      env: this.topology.name,
      wan: this.wan,
      busIn: (region: string, name: string) => {
        if (region === GLOBAL_REGION && name === 'default') return this.globalBus;
        const found = this.regions.find((r) => r.name === region);
        return found && found.bus.name === name ? found.bus : undefined;
      },
      regionNamed: (region: string) => this.regions.find((r) => r.name === region),
      startExecution: async (region: string, name: string, input: unknown) => {
        this.log(`state machine ${name} started in ${region} (input ${JSON.stringify(input)})`);
        this.started.push(this.runner.run(region, name, input));
      },
      log: this.log,
      iam: this.iam,
      ...(this.stages ? { trace: this.stages } : {}),
      queue: (arn: string) => lanes.queue(arn),
      asyncInvokeConfig: (region: string, functionName: string) =>
        invokeConfigs.get(region)?.get(functionName),
      awsTimeScale: this.timing.awsTimeScale,
    };
    const hosts: Array<{ host: BusHost; stack: string }> = this.regions.map((r) => ({
      host: { region: r.name, bus: r.bus, deadLetters: r.deadLetters },
      stack: `multiactive-${this.topology.name}-${r.name}`,
    }));
    hosts.push({
      host: { region: GLOBAL_REGION, bus: this.globalBus, deadLetters: this.globalDeadLetters },
      stack: `multiactive-${this.topology.name}-global`,
    });
    for (const { host, stack } of hosts) {
      const template = templates[stack];
      if (!template) continue;
      const { wired, skipped } = wireRules(
        host,
        rulesOfTemplate(template, { ...env(host.region), stackName: stack }),
        ctx,
      );
      this.wiredRules.push(...wired.map((w) => `${host.region}/${host.bus.name}: ${w}`));
      this.skippedTargets.push(...skipped);
    }
    await Promise.all(this.regions.map((r) => r.open()));
    lanes.start();
    const endpoints = Object.fromEntries(this.regions.map((r) => [r.name, r.apiUrl]));
    const globalTemplate = templates[`multiactive-${this.topology.name}-global`];
    if (!globalTemplate) throw new SandboxError('no synthesized global stack');
    const healthChecks = healthChecksOf(globalTemplate, env(GLOBAL_REGION));
    this.gtmRef = await startGtm({
      topology: this.topology,
      regions: this.regions.map((r) => r.name),
      endpoints,
      policy: options.policy ?? this.topology.gtm.policy,
      mode: options.mode ?? 'redirect',
      healthChecks,
      timeScale: this.timing.awsTimeScale,
      dnsName: 'api.multiactive.local',
      ...(options.frontDoorPort ? { frontDoorPort: options.frontDoorPort } : {}),
      ...(options.dnsPort ? { dnsPort: options.dnsPort } : {}),
      onChange: (change) =>
        this.log(
          `GTM: ${change.region} is now ${change.healthy ? 'healthy' : 'UNHEALTHY'} (${change.detail})`,
        ),
      onProbe: (health, check) =>
        this.metrics.put(
          {
            namespace: 'AWS/Route53',
            name: 'HealthCheckStatus',
            dimensions: { HealthCheckId: check.healthCheckId },
          },
          health.healthy ? 1 : 0,
        ),
    });
    this.startAlarms(templates, env);
    this.schedules = new ScheduledTargets(
      this.regions.flatMap((r) =>
        scheduledTargetsOf(
          r,
          rulesOfTemplate(stackOf(r.name)!, { ...env(r.name), stackName: stackNameOf(r.name) }),
          this.timing,
          {
            iam: this.iam,
            runners: {
              // The archive pass (only where the template has the archiver and its schedule).
              ...archiverRunner(r),
              readiness: sandboxReadinessTarget({
                sandbox: this,
                region: r,
                templates,
                env,
                onReport: (region, report) => this.readinessReports.set(region, report),
              }),
            },
          },
        ),
      ),
      (name, error) => this.log(`scheduled ${name} failed: ${String(error)}`),
    );
    this.schedules.start();
  }

  /** The synthesized alarms of every stack, evaluated on the sandbox's metrics at their scaled periods. */
  private startAlarms(templates: StackTemplates, env: (region: string) => StackEnvironment): void {
    const stacks: Array<[string, string]> = [
      ...this.regions.map((r): [string, string] => [r.name, `multiactive-${this.topology.name}-${r.name}`]),
      [GLOBAL_REGION, `multiactive-${this.topology.name}-global`],
    ];
    const specs = stacks.flatMap(([region, stack]) => {
      const template = templates[stack];
      if (!template) return [];
      const { alarms, skipped } = alarmsOf(template, env(region));
      this.unevaluatedAlarms.push(...skipped);
      return alarms;
    });
    this.alarmsRef = new AlarmEvaluator({
      alarms: specs,
      metrics: this.metrics,
      timeScale: this.timing.awsTimeScale,
      sample: () => this.sampleQueues(),
      onChange: (change) => void this.onAlarmChange(change),
    });
    this.alarmsRef.start();
  }

  private readonly sentSampled = new Map<string, number>();

  /**
   * Queue metrics as SQS reports them, per region and queue name (CloudWatch is regional: one region's
   * queue never fires another's alarm): messages visible (the bus targets' dead letters, which the sandbox
   * keeps as lists, plus the templates' queues), in flight, and sent since the last sample
   * (`NumberOfMessagesSent`, e.g. Lambda's invocation records).
   */
  private sampleQueues(): void {
    const samples = queueSamples({
      deadLetters: [
        ...this.regions.flatMap((r) => r.deadLetters.map((l) => ({ region: r.name, queueArn: l.queueArn }))),
        ...this.globalDeadLetters.map((l) => ({ region: GLOBAL_REGION, queueArn: l.queueArn })),
      ],
      queues: this.lanes?.depths() ?? [],
      sentBefore: this.sentSampled,
    });
    for (const { metric, value } of samples) this.metrics.put(metric, value);
  }

  /**
   * An alarm changed state: logged, and published as CloudWatch would on the default bus of its region
   * when the sandbox has one (us-east-1's). Its SNS actions are only logged.
   */
  private async onAlarmChange(change: AlarmChange): Promise<void> {
    const { alarm } = change;
    // Entering or leaving ALARM is news; INSUFFICIENT_DATA -> OK at start-up is not.
    if (change.state === 'ALARM' || change.previous === 'ALARM') {
      this.log(
        `alarm ${alarm.name} (${alarm.region}): ${change.previous} -> ${change.state} (${change.reason})`,
      );
    }
    if (alarm.region !== GLOBAL_REGION) return;
    try {
      await this.globalBus.putEvents([
        {
          Source: 'aws.cloudwatch',
          DetailType: 'CloudWatch Alarm State Change',
          Resources: [`arn:aws:cloudwatch:${GLOBAL_REGION}:${this.topology.account}:alarm:${alarm.name}`],
          Detail: JSON.stringify({
            alarmName: alarm.name,
            state: { value: change.state, reason: change.reason },
            previousState: { value: change.previous },
          }),
        },
      ]);
    } catch (error) {
      this.log(`alarm ${alarm.name} -> ${change.state} not published: ${String(error)}`);
    }
  }

  /**
   * What each region's scheduled readiness function said last (its evaluation), and the state of its
   * readiness alarm, which the sandbox evaluates from the template on the Readiness metric.
   */
  scheduledReadiness(): Array<{
    region: string;
    ready: boolean | undefined;
    at: string | undefined;
    failing: string[];
    alarm: string | undefined;
  }> {
    const states = this.alarmsRef?.snapshot() ?? {};
    return this.regions.map((r) => {
      const report = this.readinessReports.get(r.name);
      return {
        region: r.name,
        ready: report?.ready,
        at: report?.at,
        failing: (report?.checks ?? []).filter((c) => !c.ok).map((c) => c.id),
        alarm: states[`${r.name}/multiactive-${this.topology.name}-readiness`],
      };
    });
  }

  /** Alarm state changes so far (the report and the tests read them). */
  alarmChanges(): readonly AlarmChange[] {
    return this.alarmsRef?.changes ?? [];
  }

  /**
   * StartExecution of a region's Failover with the watchdog's execution name, authorized for the caller
   * (the watchdog's role); a name that ran already starts nothing (Step Functions answers
   * ExecutionAlreadyExists, which the watchdog treats as started).
   */
  private async startFailover(region: string, start: FailoverStart): Promise<void> {
    // A stopping sandbox starts no Failover: stop() waits for the scheduled runs in progress, and a watchdog
    // tick still in flight (on a loaded machine its peers' heartbeats can look stale) would make it wait out
    // a whole Failover, minutes on a busy 2-core machine, for a region nobody lost.
    if (this.stopping) {
      this.log(`watchdog of ${region}: the sandbox is stopping, Failover ${start.name} not started`);
      return;
    }
    const arn = `arn:aws:states:${region}:${this.topology.account}:stateMachine:multiactive-${this.topology.name}-Failover`;
    const input = JSON.stringify(start.input);
    await this.iam.require(currentCaller(), startExecutionCall(arn), Buffer.byteLength(input));
    const key = `${region}/${start.name}`;
    if (this.executionNames.has(key)) return;
    this.executionNames.add(key);
    this.log(`watchdog of ${region}: starting Failover ${start.name} (input ${input})`);
    const started: WatchdogFailover = { region, name: start.name, lost: start.input.region, at: Date.now() };
    this.failoversByWatchdogs.push(started);
    const run = this.runner.run(region, 'Failover', start.input);
    this.started.push(run);
    started.result = await run;
  }

  /** The Failovers the watchdogs started, with their result once finished. */
  watchdogFailovers(): readonly WatchdogFailover[] {
    return this.failoversByWatchdogs;
  }

  /**
   * IAM over every AWS call of the sandbox, from the synthesized templates: `iam.report()` (calls checked
   * and denied, the first denials) and `iam.usageRows()` (requests, items and bytes per service, caller
   * and operation: see CallUsageRow).
   */
  get iam(): IamEnforcement {
    if (!this.iamRef) throw new SandboxError('IAM is not set up before the templates are loaded');
    return this.iamRef;
  }

  /**
   * A Task state's Lambda invocation, as the state machine's role. AWS fails such a task with
   * `Lambda.AWSLambdaException` carrying the AccessDeniedException.
   */
  private async authorizeTask(
    region: string,
    functionName: string,
    payload: unknown,
    stateMachineArn: string,
  ): Promise<void> {
    const functionArn = `arn:aws:lambda:${region}:${this.topology.account}:function:${functionName}`;
    const bytes = Buffer.byteLength(JSON.stringify(payload ?? null));
    try {
      await this.iam.require(this.iam.stateMachineCaller(stateMachineArn), invokeCall(functionArn), bytes);
    } catch (error) {
      if ((error as Error).name !== 'AccessDeniedException') throw error;
      throw Object.assign(
        new Error(
          `${(error as Error).message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`,
        ),
        { name: 'Lambda.AWSLambdaException' },
      );
    }
  }

  /** The GTM (after start). */
  get gtm(): SandboxGtm {
    if (!this.gtmRef) throw new SandboxError('the GTM is not started');
    return this.gtmRef;
  }

  /** A region by name; UnknownSandboxRegionError for any other name. */
  region(name: string): SandboxRegion {
    const found = this.regions.find((r) => r.name === name);
    if (!found)
      throw new UnknownSandboxRegionError(
        name,
        this.regions.map((r) => r.name),
      );
    return found;
  }

  /** Runs a state machine of a region to its end (`name`: full name or runbook suffix, e.g. `Failover`). */
  runStateMachine(region: string, name: string, input: unknown): Promise<ExecutionResult> {
    this.region(region);
    return this.runner.run(region, name, input);
  }

  /**
   * Starts a state machine and returns at once (StartExecution); follow it with `describeExecution` and
   * `executionHistory`. A name used before with the same input while that execution runs returns it again.
   */
  startExecution(
    region: string,
    name: string,
    input: unknown,
    executionName?: string,
  ): { executionArn: string; startDate: string } {
    this.region(region);
    const { executionArn, startDate, done } = this.runner.start(region, name, input, executionName);
    done.catch(() => undefined);
    return { executionArn, startDate };
  }

  /** DescribeExecution of any execution started in this sandbox, running or finished. */
  describeExecution(executionArn: string): ExecutionDescription {
    return this.runner.describe(executionArn);
  }

  /** GetExecutionHistory: the execution's events so far in the Step Functions shape. */
  executionHistory(executionArn: string, afterId = 0): HistoryEvent[] {
    return this.runner.historyOf(executionArn, afterId);
  }

  /** Every execution started (by the CLI, the console or a rule), running ones included, newest first. */
  describeExecutions(): ExecutionDescription[] {
    return this.runner.describeAll();
  }

  /** Every finished execution. */
  executions(): readonly ExecutionResult[] {
    return this.runner.executions();
  }

  /** Waits for executions started by rules so far. */
  async settleExecutions(): Promise<ExecutionResult[]> {
    return Promise.all(this.started);
  }

  /**
   * StartExecution of a region's Saga machine, named (a name already used starts nothing), authorized for
   * the calling function's role; the execution runs in the background. A region that is down cannot start
   * one (its Lambda is gone with it).
   */
  private async startSaga(region: string, input: unknown, name: string): Promise<void> {
    if (this.region(region).isDown) throw new SandboxError(`${region} is down`);
    // As the function calling (the API's begin, the saga function's sweep), like StartExecution in AWS.
    await this.iam.require(
      currentCaller(),
      startExecutionCall(this.runner.arnOf(region, 'Saga')),
      Buffer.byteLength(JSON.stringify(input ?? null)),
    );
    let run: Promise<ExecutionResult>;
    try {
      run = this.runner.start(region, 'Saga', input, name).done;
    } catch (error) {
      if (error instanceof ExecutionAlreadyExistsError) return;
      throw error;
    }
    if (this.sagaRuns.has(run)) return;
    this.sagaRuns.add(run);
    run.finally(() => this.sagaRuns.delete(run)).catch(() => undefined);
  }

  /** Waits until no Saga execution runs (each may start others through the sweep meanwhile). */
  async settleSagas(): Promise<void> {
    while (this.sagaRuns.size > 0) await Promise.allSettled([...this.sagaRuns]);
  }

  /** Names of the state machines of a region. */
  stateMachines(region: string): string[] {
    return this.runner.names(region);
  }

  /** Kills a region (see SandboxRegion.kill). */
  async killRegion(name: string): Promise<void> {
    await this.region(name).kill();
  }

  /** Brings a killed region back. */
  async reviveRegion(name: string): Promise<void> {
    await this.region(name).revive();
  }

  /** Cuts the WAN link between two regions. */
  partition(a: string, b: string): void {
    this.region(a);
    this.region(b);
    this.wan.partition(a, b);
  }

  /** Sets the one-way latency of a link (both directions), unscaled ms. */
  setLatency(a: string, b: string, ms: number): void {
    this.region(a);
    this.region(b);
    this.wan.setLink(a, b, { latencyMs: ms });
  }

  /** Restores every partitioned link. */
  heal(): void {
    this.wan.heal();
  }

  /**
   * Waits until every live region's stream is read to its end, every bus has delivered and the ordinary lane
   * is empty (`quiesceRounds`: `timeoutMs` guards the first of three rounds).
   */
  quiesce(timeoutMs = 20_000): Promise<void> {
    return quiesceRounds(
      {
        streams: () =>
          this.regions
            .filter((r) => !r.isDown)
            .map((r) => ({ region: r.name, idle: (ms: number) => r.streamIdle(ms) })),
        drainBuses: async () => {
          await Promise.all([...this.regions.map((r) => r.bus.drain()), this.globalBus.drain()]);
        },
        // Its queues emptied and no batch in flight (else LaneNotDrainedError, naming them), given at least
        // its batching window (a queue holding less than a batch waits for it, as on AWS).
        settleLanes: async (ms) => {
          await this.lanes?.settle(ms);
        },
      },
      timeoutMs,
    );
  }

  /**
   * Holds (true) or releases (false) a region's ordinary lane: held, its queue fills and nothing drains it
   * (`quiesce` does not wait for it), as for a region whose lane is out; a bench builds a backlog this way.
   */
  holdLane(region: string, held: boolean): void {
    this.region(region);
    this.lanes?.hold(region, held);
  }

  /** Every SQS queue of the templates, per region: messages visible, in flight and sent so far. */
  queueDepths(): ReturnType<SandboxQueues['depths']> {
    return this.lanes?.depths() ?? [];
  }

  /** The ordinary lane's queues and mappings (counters per region). */
  laneStats(): ReturnType<SandboxQueues['stats']> {
    return this.lanes?.stats() ?? [];
  }

  /** Compares every region's events and state rows. */
  check(): Promise<ConsistencyReport> {
    return checkConsistency(
      this.regions.map((r) => ({ name: r.name, doc: r.clients.doc, tables: r.stores.tables })),
    );
  }

  /** Stops the GTM, the regions (JVMs last) and the WAN timers; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    for (const region of this.regions) region.markClosing();
    this.alarmsRef?.stop();
    await this.gtmRef?.stop();
    await this.schedules?.stop();
    await this.lanes?.stop();
    this.wan.close();
    await this.globalBus.close();
    await Promise.all(this.regions.map((r) => r.stop()));
  }
}

/** The scheduled archiver of a region, when its aggregates have a retention (lib/lifecycle). */
function archiverRunner(region: SandboxRegion): Record<string, () => Promise<unknown>> {
  const run = region.functions.archiver;
  return run ? { archiver: run } : {};
}
