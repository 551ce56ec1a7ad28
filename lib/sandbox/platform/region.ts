import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { MultiRegion } from '../../api/index.ts';
import type { InternalKey } from '../../auth/index.ts';
import type { Topology } from '../../config/index.ts';
import type { FailoverStart } from '../../detection/index.ts';
import { archiveBucketName, hasRetention, peerWatermarks } from '../../lifecycle/index.ts';
import type { AggregateRegistry } from '../../model/index.ts';
import { DynamoControlReplica, type PartitionOwnership } from '../../ownership/index.ts';
import { eventStoreOriginReader, type LaneVisibility } from '../../replication/index.ts';
import type { AnySaga, SagaStarter } from '../../sagas/index.ts';
import { createTables } from '../../store/index.ts';
import { ApiGatewayEdge, type ApiRouteSpec, type ApiSpec } from '../apigateway/index.ts';
import type { SandboxAuth } from '../auth/index.ts';
import type { StreamMappingSpec } from '../cdk/event-sources.ts';
import type { LocalMetrics } from '../cloudwatch/index.ts';
import { type LocalClients, localClients } from '../dynamodb/clients.ts';
import { type DynamoLocal, startDynamoLocal } from '../dynamodb/local.ts';
import { installStoreFault, type StoreFault } from '../dynamodb/store-fault.ts';
import { copyTables, restoreTables, type TableCopy } from '../dynamodb/table-copy.ts';
import { SandboxError } from '../errors.ts';
import { type EventBridgeEvent, LocalEventBus } from '../eventbridge/index.ts';
import { serveApi } from '../http-server.ts';
import { type IamEnforcement, invokeCall } from '../iam/index.ts';
import type { RunbookHandler } from '../state-machines/runbook-port.ts';
import { StreamPoller } from '../streams/index.ts';
import type { WanNetwork } from '../wan/index.ts';
import { type FunctionIam, functionIam, NO_FUNCTION_IAM } from './function-iam.ts';
import type { LagRecorder } from './lag-recorder.ts';
import { type LocalFunctions, localFunctions } from './local-functions.ts';
import { applierRouting, regionRouting } from './region-routing.ts';
import { type RegionStores, regionStores } from './region-stores.ts';
import { SandboxArchive } from './sandbox-archive.ts';
import { SkewableClock } from './skewable-clock.ts';
import { type PipelineTrace, traceStreamReads } from './stage-trace.ts';
import type { SandboxTiming } from './timing.ts';
import { wanOriginReader } from './wan-adapters.ts';
import { regionWatchdog } from './watchdog-wiring.ts';

/** How long a write takes to show on DynamoDB Local's stream (~4 ms seen), with a wide margin. */
const STREAM_SETTLE_MS = 100;
/** How long `withoutPublishing` waits for the new mapping's first read at LATEST. */
const STREAM_IDLE_MS = 30_000;

/** What a region is built from. */
export interface SandboxRegionOptions {
  readonly region: string;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  /** The application's sagas (transfers), served by the API and run by the Saga machine. */
  readonly sagas: readonly AnySaga[];
  readonly wan: WanNetwork;
  readonly timing: SandboxTiming;
  readonly lag: LagRecorder;
  /** Per-stage timestamps of replicated events and quorum-ack step times (benchmarks only). */
  readonly trace?: PipelineTrace;
  /** Name of the replication bus (`multiactive-<env>-bus`). */
  readonly busName: string;
  /** Directory for this region's DynamoDB Local files; in memory when omitted. */
  readonly dataDir?: string;
  /**
   * Directory standing in for the region's archive bucket (with a retention only); default
   * `<dataDir>/archive`, or a temporary directory when the region is in memory.
   */
  readonly archiveDir?: string;
  /** The application's name: the archive's key prefix, as on S3 (default: the environment's name). */
  readonly app?: string;
  readonly log: (line: string) => void;
  /** The run's credentials (internal key, client issuer or access key). */
  readonly auth: SandboxAuth;
  /** The sandbox's CloudWatch metrics. */
  readonly metrics: LocalMetrics;
}

/** A delivery a rule target gave up on, kept where its dead-letter queue would have kept it. */
export interface DeadLetter {
  readonly queueArn: string;
  readonly targetId: string;
  readonly event: EventBridgeEvent;
  readonly error: string;
}

/** The runbook handler of a region, given the region (plugged in by the runbook module later). */
export type RunbookFactory = (region: SandboxRegion) => RunbookHandler;

/**
 * One sandbox region: its own DynamoDB Local JVM with the cell's tables, the replication bus, the stream
 * poller feeding the publisher, the heartbeat loop, and the API on its own loopback port. Built in
 * three steps because ownership and replication need every peer: boot() -> connect() -> open().
 */
export class SandboxRegion {
  readonly name: string;
  readonly options: SandboxRegionOptions;
  readonly deadLetters: DeadLetter[] = [];
  /** Stream records the publisher gave up on: the event source mapping's on-failure destination (an SQS DLQ in AWS). */
  readonly streamDeadLetters: Array<{ readonly record: DynamoDBRecord; readonly error: string }> = [];
  /**
   * The region's wall clock (the chaos nemesis skews it): under every HLC of the region, and read by its
   * ownership (leases, `activeFrom`), applier, replication lag and runbook tasks.
   */
  readonly wallClock = new SkewableClock();
  drained = false;
  private dynamo: DynamoLocal | undefined;
  private built:
    | {
        clients: LocalClients;
        stores: RegionStores;
        bus: LocalEventBus;
        replica: DynamoControlReplica;
        storeFault: ReturnType<typeof installStoreFault>;
      }
    | undefined;
  private wired:
    | {
        functions: LocalFunctions;
        multiRegion: MultiRegion;
        mapping: StreamMappingSpec;
        edge: ApiGatewayEdge;
        api: ApiSpec;
      }
    | undefined;
  private poller: StreamPoller | undefined;
  private iamRef: IamEnforcement | undefined;
  private functionIamRef: FunctionIam = NO_FUNCTION_IAM;
  private server: Server | undefined;
  private port = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private down = false;
  private closing = false;

  constructor(options: SandboxRegionOptions) {
    this.name = options.region;
    this.options = options;
  }

  /** Starts DynamoDB Local, creates the tables from TABLE_DEFINITIONS, builds the stores and the bus. */
  async boot(): Promise<void> {
    const { topology, timing } = this.options;
    this.dynamo = await startDynamoLocal({
      ...(this.options.dataDir ? { dataDir: this.options.dataDir } : {}),
    });
    const clients = localClients(this.dynamo.endpoint, this.name);
    // Traced (a benchmark): how long the stream poller's reads take, with records and empty.
    traceStreamReads(this.options.trace, clients.streams);
    await createTablesOnce(clients, topology.name);
    const stores = regionStores(clients, topology, this.name, {
      wallClock: this.wallClock,
      archive: this.localArchive(),
    });
    const bus = new LocalEventBus({
      name: this.options.busName,
      region: this.name,
      account: topology.account,
      retryBaseDelayMs: timing.busRetryBaseMs,
      retryMaxDelayMs: timing.busRetryMaxMs,
      onDropped: (event, targetId, error) =>
        this.options.log(`${this.name}: bus dropped event ${event.id} for ${targetId}: ${String(error)}`),
    });
    const replica = new DynamoControlReplica({
      region: this.name,
      client: clients.doc,
      tableName: stores.tables.control,
    });
    this.built = { clients, stores, bus, replica, storeFault: installStoreFault(clients) };
  }

  /** The region's bucket as a local directory, its calls authorized as S3's (none without a retention). */
  private localArchive(): SandboxArchive | undefined {
    const { topology } = this.options;
    if (!hasRetention(topology)) return undefined;
    const root =
      this.options.archiveDir ??
      (this.options.dataDir
        ? join(this.options.dataDir, 'archive')
        : mkdtempSync(join(tmpdir(), `multiactive-archive-${this.name}-`)));
    return new SandboxArchive(root, {
      bucket: archiveBucketName(topology, this.name),
      app: this.options.app ?? topology.name,
      iam: () => this.iamRef,
    });
  }

  /**
   * Puts IAM in front of the region: its SDK clients authorize every call for the caller of the moment,
   * and its functions run as their roles (see lib/sandbox/iam). Called after boot(), before connect().
   */
  enforce(iam: IamEnforcement): void {
    const { clients } = this.requireBuilt();
    iam.instrument(clients.dynamodb, 'dynamodb', { region: this.name });
    iam.instrument(clients.streams, 'streams', { region: this.name });
    this.iamRef = iam;
    this.functionIamRef = functionIam(iam, this.name, this.options.topology.name);
  }

  /** The sandbox's IAM (undefined when the region runs without templates). */
  get iam(): IamEnforcement | undefined {
    return this.iamRef;
  }

  /** Who this region's functions run as, and the local bus's PutEvents check. */
  get functionIam(): FunctionIam {
    return this.functionIamRef;
  }

  /**
   * The environment's internal key as this region's functions read it: GetSecretValue on the region's
   * replica of the secret, authorized for the function running.
   */
  get internalKey(): InternalKey {
    return this.functionIamRef.internalKey(this.options.auth.internalKey);
  }

  /**
   * Builds ownership (a quorum register over every region's control table, across the WAN), routing and
   * breakers (`multiRegionDeps`, peers' APIs across the WAN) and the handlers.
   */
  connect(input: {
    peers: readonly SandboxRegion[];
    mapping: StreamMappingSpec;
    runbook: RunbookFactory;
    /** StartExecution of this region's Saga machine. */
    sagaStarter: SagaStarter;
    /** The region's HTTP API as synthesized (routes, authorizers, throttles). */
    api: ApiSpec;
    /** Starts a state machine execution in this region (the watchdog's Failover). */
    startFailover: (start: FailoverStart) => Promise<void>;
    /** ChangeMessageVisibility on the lane's queues, as this region's applier. */
    laneVisibility?: LaneVisibility;
    /** The functions' timeouts in the region's template, by function name (`functionTimeoutsOf`). */
    functionTimeoutsMs?: ReadonlyMap<string, number>;
  }): void {
    const { clients, stores, bus } = this.requireBuilt();
    const { wan, timing, topology, auth } = this.options;
    const { internalKey } = this;
    const multiRegion = regionRouting({
      self: this,
      peers: input.peers,
      topology,
      registry: this.options.registry,
      timing,
      wan,
      clients,
      stores,
      internalKey,
      now: this.wallClock.now,
      ...(this.options.trace ? { trace: this.options.trace } : {}),
    });
    const peerStores = new Map(input.peers.map((p) => [p.name, p]));
    const reader = eventStoreOriginReader((origin) => {
      const peer = peerStores.get(origin);
      if (!peer) throw new Error(`no region ${origin}`);
      return peer.stores.events;
    });
    const functions = localFunctions({
      region: this.name,
      topology,
      registry: this.options.registry,
      clients,
      stores,
      bus,
      multiRegion: multiRegion.api,
      homeLease: applierRouting({ self: this, peers: input.peers, timing, wan, stores }),
      originReader: wanOriginReader(this.name, reader, wan),
      lag: this.options.lag,
      ...(this.options.trace ? { trace: this.options.trace } : {}),
      runbook: input.runbook(this),
      sagas: {
        definitions: this.options.sagas,
        starter: input.sagaStarter,
        homes: multiRegion.ownership,
        timers: {
          holdMs: timing.sagaHoldMs,
          resumeAfterMs: timing.sagaResumeAfterMs,
          waitMs: timing.sagaWaitMs,
        },
      },
      drained: () => this.drained,
      internalKey,
      metrics: this.options.metrics,
      // As in Lambda: a second, whatever the time scale (every check would otherwise write a probe).
      healthCacheMs: 1_000,
      ...(input.functionTimeoutsMs ? { functionTimeoutsMs: input.functionTimeoutsMs } : {}),
      watchdog: regionWatchdog({
        self: this,
        peers: input.peers,
        register: multiRegion.register,
        startFailover: input.startFailover,
      }),
      iam: this.functionIamRef,
      now: this.wallClock.now,
      // The archiver reads every peer's watermarks and log from the peer's own tables (as on AWS, where
      // its role may Query them cross-region): a region's own replication table says only what it applied.
      archiverPeers: () =>
        input.peers.map((peer) =>
          peerWatermarks({
            region: peer.name,
            client: peer.clients.doc,
            replicationTable: peer.stores.tables.replication,
            eventsTable: peer.stores.tables.events,
          }),
        ),
      ...(input.laneVisibility ? { laneVisibility: input.laneVisibility } : {}),
    });
    const edge = new ApiGatewayEdge({
      spec: input.api,
      region: this.name,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      credentials: (accessKeyId) => auth.lookup(accessKeyId),
    });
    this.wired = { functions, multiRegion, mapping: input.mapping, edge, api: input.api };
  }

  /** Serves the API, starts the stream poller and the heartbeat loop. */
  async open(): Promise<void> {
    await this.listen();
    await this.startPipelines();
  }

  get clients(): LocalClients {
    return this.requireBuilt().clients;
  }

  get stores(): RegionStores {
    return this.requireBuilt().stores;
  }

  get bus(): LocalEventBus {
    return this.requireBuilt().bus;
  }

  get controlReplica(): DynamoControlReplica {
    return this.requireBuilt().replica;
  }

  /** The tables a peer's quorum ack writes to (events, copy markers, seal check; state and conflicts to retire). */
  get quorumTables(): {
    client: DynamoDBDocumentClient;
    events: string;
    state: string;
    replication: string;
    control: string;
  } {
    const { clients, stores } = this.requireBuilt();
    const { events, state, replication, control } = stores.tables;
    return { client: clients.doc, events, state, replication, control };
  }

  /** The region's HTTP API as synthesized (routes, authorizers, throttles). */
  get apiSpec(): ApiSpec {
    return this.requireWired().api;
  }

  get functions(): LocalFunctions {
    return this.requireWired().functions;
  }

  get ownership(): PartitionOwnership {
    return this.requireWired().multiRegion.ownership;
  }

  /** The region's partition map, routing and breakers (the same objects its API uses). */
  get multiRegion(): MultiRegion {
    return this.requireWired().multiRegion;
  }

  get endpoint(): string {
    return this.dynamo?.endpoint ?? '';
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get isDown(): boolean {
    return this.down;
  }

  /** Whether the sandbox is stopping: a scheduled run in progress (the watchdog's window) ends early. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Marks the region as stopping, before the sandbox waits for the scheduled runs in progress. */
  markClosing(): void {
    this.closing = true;
  }

  /** Poller counters (undefined while the region is down). */
  pollerStats() {
    return this.poller?.stats();
  }

  /** Waits until the stream has been read to its end (used before consistency checks). */
  async streamIdle(timeoutMs: number): Promise<void> {
    await this.poller?.idle(timeoutMs);
  }

  /**
   * The region fails: its API refuses connections, its WAN links drop everything, its poller and heartbeats
   * stop. Its DynamoDB Local keeps running, like the storage of a region that comes back with its data.
   */
  async kill(): Promise<void> {
    if (this.down) return;
    this.down = true;
    this.options.wan.setRegionDown(this.name, true);
    await this.stopPipelines();
    await this.closeServer();
  }

  /**
   * A gray failure: the region's DynamoDB throttles every call (`throttle`) while its API, poller and
   * heartbeat loop keep running; `null` ends it.
   */
  setStoreFault(fault: StoreFault): void {
    this.requireBuilt().storeFault.set(fault);
  }

  private readonly invocationFaults: Array<{
    functionName: string;
    remaining: number;
    match: (payload: unknown) => boolean;
  }> = [];

  /**
   * Makes the next `count` asynchronous invocations (rule targets) of `functionName` whose payload `match`es
   * fail as if the function had thrown: a test drives Lambda's retries and on-failure destination with it.
   */
  failInvocations(functionName: string, count: number, match: (payload: unknown) => boolean): void {
    this.invocationFaults.push({ functionName, remaining: count, match });
  }

  /** Whether an injected fault takes this invocation (and uses one up). */
  takeInvocationFault(functionName: string, payload: unknown): boolean {
    const fault = this.invocationFaults.find(
      (f) => f.remaining > 0 && f.functionName === functionName && f.match(payload),
    );
    if (!fault) return false;
    fault.remaining--;
    return true;
  }

  /** The region comes back: the poller resumes from its checkpoint, so the unpublished backlog drains. */
  async revive(): Promise<void> {
    if (!this.down) return;
    this.options.wan.setRegionDown(this.name, false);
    await this.listen(this.port);
    await this.startPipelines();
    this.down = false;
  }

  /**
   * A copy of the region's tables now (the sandbox's point-in-time recovery), read with the operator's own
   * client rather than the functions' (no IAM of a role, no store fault).
   */
  async copyTables(): Promise<TableCopy> {
    return copyTables(this.operatorClient(), { region: this.name, env: this.options.topology.name });
  }

  /**
   * Restores the region's tables to a copy, as a PITR restore into the same table names: the stream
   * consumer, heartbeats and sweep stop, the tables are replaced, and a new consumer reads the new streams
   * (which hold none of the restored items). Keep the region drained of writes until Repair has run.
   */
  async restoreTables(copy: TableCopy): Promise<void> {
    if (copy.region !== this.name)
      throw new SandboxError(`a copy of ${copy.region} cannot be restored into ${this.name}`);
    const live = !this.down;
    if (live) await this.stopPipelines();
    await restoreTables(this.operatorClient(), copy);
    // The event source mapping of the deleted table's stream is gone with it: the new one starts afresh.
    this.poller = undefined;
    if (live) await this.startPipelines();
  }

  private operatorClient() {
    if (!this.dynamo) throw new Error(`region ${this.name} is not booted`);
    return localClients(this.dynamo.endpoint, this.name).dynamodb;
  }

  /** Stops everything, the JVM last. */
  async stop(): Promise<void> {
    await this.stopPipelines();
    await this.closeServer();
    await this.built?.bus.close();
    await this.dynamo?.stop();
  }

  private async listen(port = 0): Promise<void> {
    const { functions, edge, api } = this.requireWired();
    const { metrics, topology } = this.options;
    const serverErrors = { namespace: 'AWS/ApiGateway', name: '5xx', dimensions: { ApiId: api.apiId } };
    const { server, url } = await serveApi({
      edge,
      invoke: (functionName) =>
        functionName === `multiactive-${topology.name}-health` ? functions.health : functions.api,
      ...(this.iamRef ? { authorizeInvoke: apiGatewayInvoke(this.iamRef, this.name, api.apiId) } : {}),
      region: this.name,
      port,
      onStatus: (status) => {
        if (status >= 500) metrics.put(serverErrors, 1);
      },
    });
    this.server = server;
    this.port = Number(new URL(url).port);
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Runs `write` with the stream's event source mapping stopped, then recreates the mapping at LATEST: what
   * `write` put in the region's tables is never published (a bench seeding history that every region
   * already holds, or that the peers must not receive). Anything else written to the events table in the
   * meantime is skipped too, so keep the region idle while it runs. Returns once the new mapping has read
   * the stream at LATEST, so a write after it is published. A killed region stays down (its new mapping
   * starts, at LATEST, when it is revived).
   */
  async withoutPublishing<T>(write: () => Promise<T>): Promise<T> {
    await this.poller?.stop();
    this.poller = undefined;
    try {
      return await write();
    } finally {
      // DynamoDB Local shows a record on the stream a few ms after its write returns: let the last ones land
      // before LATEST is read, or they would be published after all.
      await new Promise((resolve) => setTimeout(resolve, STREAM_SETTLE_MS));
      this.poller = this.newPoller('LATEST');
      if (!this.down) {
        const poller = this.poller;
        await this.functionIamRef.as('publisher', () => poller.start());
        // Its first empty poll fixes where LATEST is: a write after this returns is published.
        await poller.idle(STREAM_IDLE_MS);
      }
    }
  }

  private newPoller(startingPosition?: 'TRIM_HORIZON' | 'LATEST'): StreamPoller {
    const { mapping, functions } = this.requireWired();
    return new StreamPoller({
      streams: this.clients.streams,
      tableArnOrStreamArn: mapping.tableName,
      region: this.name,
      batchSize: mapping.batchSize,
      maxRetries: mapping.maxRetries,
      bisectOnError: mapping.bisectOnError,
      startingPosition: startingPosition ?? mapping.startingPosition,
      pollIntervalMs: this.options.timing.streamPollMs,
      handler: async (event) => {
        const result = await functions.publisher(event);
        return mapping.reportBatchItemFailures ? result : { batchItemFailures: [] };
      },
      onFailure: async (records, error) => {
        for (const record of records) this.streamDeadLetters.push({ record, error: String(error) });
        this.options.log(`${this.name}: publisher gave up on ${records.length} record(s): ${String(error)}`);
      },
      onError: (error) => this.options.log(`${this.name}: stream poller: ${String(error)}`),
    });
  }

  private async startPipelines(): Promise<void> {
    const { functions } = this.requireWired();
    this.poller ??= this.newPoller();
    // The event source mapping reads the stream with the publisher's role.
    const poller = this.poller;
    await this.functionIamRef.as('publisher', () => poller.start());
    const tick = () => {
      functions
        .lagMonitor()
        .catch((error) => this.options.log(`${this.name}: heartbeat failed: ${String(error)}`));
    };
    tick();
    this.heartbeat = setInterval(tick, this.options.timing.heartbeatIntervalMs);
    // The recovery sweep of sagas left in doubt (an EventBridge schedule invoking the saga function in AWS).
    this.sweep = setInterval(() => {
      functions
        .saga({ task: 'Sweep' })
        .catch((error) => this.options.log(`${this.name}: saga sweep failed: ${String(error)}`));
    }, this.options.timing.sagaSweepMs);
  }

  private async stopPipelines(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    clearInterval(this.sweep);
    this.sweep = undefined;
    await this.poller?.stop();
  }

  private requireBuilt() {
    if (!this.built) throw new Error(`region ${this.name} is not booted`);
    return this.built;
  }

  private requireWired() {
    if (!this.wired) throw new Error(`region ${this.name} is not connected`);
    return this.wired;
  }
}

/** Tables survive in a data directory: create only the missing ones. */
async function createTablesOnce(clients: LocalClients, env: string): Promise<void> {
  try {
    await createTables(clients.dynamodb, env);
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
}

/**
 * API Gateway invoking a route's function, authorized as AWS does: `apigateway.amazonaws.com` on behalf
 * of the route (`aws:SourceArn` = `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<method><path>`,
 * the path as the route declares it), against the function's resource policy.
 */
function apiGatewayInvoke(
  iam: IamEnforcement,
  region: string,
  apiId: string,
): (route: ApiRouteSpec, method: string, bytes: number) => Promise<void> {
  const { account } = iam.model;
  return (route, method, bytes) =>
    iam.require(
      iam.serviceCaller(
        'apigateway.amazonaws.com',
        `arn:aws:execute-api:${region}:${account}:${apiId}/$default/${method}${route.path}`,
        `${region}/api-gateway/${route.routeKey}`,
      ),
      invokeCall(`arn:aws:lambda:${region}:${account}:function:${route.functionName}`),
      bytes,
    );
}
