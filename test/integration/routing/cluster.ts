import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { type ApiDeps, createApiHandler, type SagaApiDeps } from '../../../lib/api/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import type { CommandDeps } from '../../../lib/commands/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  type ControlReplica,
  DynamoControlReplica,
  PartitionMap,
  PartitionOwnership,
  partitionOf,
  QuorumRegister,
  type RegisterRecord,
  RequestCounter,
} from '../../../lib/ownership/index.ts';
import { ServiceBreakers, SyncBreakers, TrafficBreaker } from '../../../lib/resilience/index.ts';
import {
  CommandRouter,
  type CoreMode,
  DynamoLocalLog,
  PeerClient,
  type PeerRequest,
  type PeerResponse,
  type PeerTransport,
  ReadYourWrites,
} from '../../../lib/routing/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { type HttpRequest, httpEvent, lambdaContext } from '../../support/http.ts';

export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
export type RegionName = (typeof REGIONS)[number];
export const ENDPOINTS = Object.fromEntries(REGIONS.map((r) => [r, `https://${r}.api.test`]));

/** In-test WAN: cut links, isolate regions, add delay; used by replica calls and peer API calls alike. */
export class Links {
  private readonly cuts = new Set<string>();
  private readonly delays = new Map<string, number>();
  private readonly copies = new Set<string>();
  peerCalls = 0;

  /** Every peer API request from `a` to `b` is delivered twice (the copy's answer goes nowhere). */
  duplicate(a: string, b: string): void {
    this.copies.add(`${a}|${b}`);
  }

  duplicates(from: string, to: string): boolean {
    return this.copies.has(`${from}|${to}`);
  }

  cut(a: string, b: string): void {
    this.cuts.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  isolate(region: string): void {
    for (const other of REGIONS) if (other !== region) this.cut(region, other);
  }

  delay(a: string, b: string, ms: number): void {
    this.delays.set(`${a}|${b}`, ms);
  }

  heal(): void {
    this.cuts.clear();
    this.delays.clear();
    this.copies.clear();
  }

  async cross(from: string, to: string): Promise<void> {
    if (from === to) return;
    const ms = this.delays.get(`${from}|${to}`);
    if (ms) await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.cuts.has(`${from}|${to}`)) throw new Error(`link ${from} -> ${to} is down`);
  }
}

class LinkedReplica implements ControlReplica {
  constructor(
    private readonly from: string,
    private readonly inner: ControlReplica,
    private readonly links: Links,
  ) {}

  get region() {
    return this.inner.region;
  }

  async read<V>(key: string) {
    await this.links.cross(this.from, this.region);
    return this.inner.read<V>(key);
  }

  async write<V>(key: string, record: RegisterRecord<V>) {
    await this.links.cross(this.from, this.region);
    return this.inner.write(key, record);
  }

  /** A batch crosses the link once, as the real replica's batch is one request per round. */
  async readMany<V>(keys: readonly string[]) {
    await this.links.cross(this.from, this.region);
    return this.inner.readMany!<V>(keys);
  }

  async writeMany<V>(items: ReadonlyArray<{ key: string; record: RegisterRecord<V> }>) {
    await this.links.cross(this.from, this.region);
    return this.inner.writeMany!<V>(items);
  }

  async writeOutcomes<V>(items: ReadonlyArray<{ key: string; record: RegisterRecord<V> }>) {
    await this.links.cross(this.from, this.region);
    return this.inner.writeOutcomes!<V>(items);
  }
}

export interface Cell {
  readonly name: RegionName;
  readonly tables: TestRegion;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly replica: DynamoControlReplica;
  readonly register: QuorumRegister;
  readonly map: PartitionMap;
  readonly ownership: PartitionOwnership;
  readonly breakers: ServiceBreakers;
  readonly sync: SyncBreakers;
  readonly traffic: TrafficBreaker;
  readonly router: CommandRouter;
  readonly counter: RequestCounter;
  /** Replication lag this region sees from each peer (set by tests). */
  readonly lag: Record<string, number | null>;
  call(request: HttpRequest): Promise<Answer>;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** What a region offers a test that adds sagas to it (see `ClusterOptions.sagas`). */
export interface CellParts {
  readonly name: RegionName;
  readonly commands: CommandDeps;
  readonly router: CommandRouter;
  readonly ownership: PartitionOwnership;
  readonly tables: TestRegion;
}

export interface ClusterOptions {
  /** Adds sagas (transfers) to every region's API. */
  sagas?: (cell: CellParts) => SagaApiDeps;
  mode?: CoreMode;
  waitMs?: number;
  leaseMs?: number;
  skewMarginMs?: number;
  /** A peer API call's timeout when forwarding (default 3 s, as deployed: routing.forwardTimeoutMs). */
  forwardTimeoutMs?: number;
  halfOpenAfterMs?: number;
  /** A control replica's call timeout in the quorum register (default 3 s, as deployed: routing.forwardTimeoutMs). */
  controlCallTimeoutMs?: number;
  /** PartitionOwnership's shortest interval between re-reads of a partition it may not write yet (200 ms). */
  waitingRereadMs?: number;
}

export interface Cluster {
  readonly cells: Record<RegionName, Cell>;
  readonly links: Links;
  /** Copies an aggregate's events and projection row from one region to another (in-test replication). */
  replicate(from: RegionName, to: RegionName, aggregateType: string, aggregateId: string): Promise<void>;
  /** A fresh aggregate id whose partition no other id of this cluster used. */
  freshId(prefix: string): string;
}

const topology = bank.topology('dev');
const registry = createRegistry(exampleAggregates, topology);

function asAnswer(result: APIGatewayProxyStructuredResultV2): Answer {
  return {
    status: result.statusCode ?? 0,
    body: JSON.parse(String(result.body ?? '{}')) as Record<string, unknown>,
    headers: (result.headers ?? {}) as Record<string, string>,
  };
}

/** Three regions, each with its own tables in DynamoDB Local and its own API handler, wired like production. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const links = new Links();
  const tables = await Promise.all(REGIONS.map((r) => freshRegion(r)));
  const replicas = REGIONS.map(
    (region, i) =>
      new DynamoControlReplica({ region, client: tables[i]!.doc, tableName: tables[i]!.tables.control }),
  );
  const handlers = new Map<string, ReturnType<typeof createApiHandler>>();
  const transport = (from: string): PeerTransport => ({
    async send(region: string, request: PeerRequest): Promise<PeerResponse> {
      links.peerCalls++;
      await links.cross(from, region);
      const handler = handlers.get(region)!;
      const event = () =>
        httpEvent({
          method: request.method,
          path: request.path,
          body: request.body,
          headers: { ...request.headers },
        });
      // A duplicated request: the copy arrives alongside the original, and its answer is lost.
      if (links.duplicates(from, region)) void handler(event(), lambdaContext()).catch(() => {});
      const result = asAnswer((await handler(event(), lambdaContext())) as APIGatewayProxyStructuredResultV2);
      await links.cross(region, from); // the answer may be lost too
      return { status: result.status, headers: result.headers, body: JSON.stringify(result.body) };
    },
  });
  const cells = {} as Record<RegionName, Cell>;
  REGIONS.forEach((name, i) => {
    const t = tables[i]!;
    const register = new QuorumRegister({
      replicas: replicas.map((r) => new LinkedReplica(name, r, links)),
      callTimeoutMs: options.controlCallTimeoutMs ?? 3_000,
    });
    const map = new PartitionMap({
      register,
      leaseMs: options.leaseMs ?? 300,
      skewMarginMs: options.skewMarginMs ?? 50,
    });
    const ownership = new PartitionOwnership({
      region: name,
      map,
      local: replicas[i]!,
      controlTable: t.tables.control,
      ...(options.waitingRereadMs === undefined ? {} : { waitingRereadMs: options.waitingRereadMs }),
    });
    const breakers = new ServiceBreakers({
      errorRate: 0.5,
      latencyMs: 2_000,
      halfOpenAfterMs: options.halfOpenAfterMs ?? 200,
      samplingMs: 2_000,
      minimumRps: 2,
    });
    const lag: Record<string, number | null> = {};
    const peers = REGIONS.filter((r) => r !== name);
    const sync = new SyncBreakers({
      peers,
      lag: { lagMs: async (peer) => lag[peer] ?? null },
      degradeLagMs: 5_000,
      recoverLagMs: 2_000,
      refreshMs: 0,
    });
    const traffic = new TrafficBreaker({ region: name, register, local: replicas[i]!, refreshMs: 0 });
    const events = new EventStore({
      client: t.doc,
      tableName: t.tables.events,
      coreMarkerTableName: t.tables.replication,
    });
    const states = new StateStore({ client: t.doc, tableName: t.tables.state });
    const router = new CommandRouter({
      region: name,
      partitions: topology.partitions,
      mode: options.mode ?? 'forward',
      homes: ownership,
      degrade: sync,
      peers: new PeerClient({
        transport: transport(name),
        breakers,
        timeoutMs: options.forwardTimeoutMs ?? 3_000,
      }),
      endpoints: ENDPOINTS,
    });
    const counter = new RequestCounter();
    const deps: ApiDeps = {
      registry,
      events,
      states,
      clock: new HybridLogicalClock({ region: name }),
      region: name,
      partitions: topology.partitions,
      fenceCoreWrite: (partition) => ownership.fenceCoreWrite(partition),
      routing: {
        router,
        partitions: topology.partitions,
        requestCounter: counter,
        readYourWrites: new ReadYourWrites({
          region: name,
          waitMs: options.waitMs ?? 300,
          states,
          log: new DynamoLocalLog({ client: t.doc, tableName: t.tables.events }),
        }),
      },
      breakers: { service: breakers, sync, traffic },
    };
    const sagas = options.sagas?.({ name, commands: deps, router, ownership, tables: t });
    const handler = createApiHandler({
      ...deps,
      ...(sagas ? { sagas } : {}),
      idempotency: new DynamoDBPersistenceLayer({
        tableName: t.tables.idempotency,
        awsSdkV3Client: t.dynamodb,
      }),
    });
    handlers.set(name, handler);
    cells[name] = {
      name,
      tables: t,
      events,
      states,
      replica: replicas[i]!,
      register,
      map,
      ownership,
      breakers,
      sync,
      traffic,
      router,
      counter,
      lag,
      call: async (request) =>
        asAnswer((await handler(httpEvent(request), lambdaContext())) as APIGatewayProxyStructuredResultV2),
    };
  });
  const used = new Set<number>();
  let n = 0;
  return {
    cells,
    links,
    async replicate(from, to, aggregateType, aggregateId) {
      const tier = registry.get(aggregateType).tier;
      const events = await cells[from].events.loadStream(aggregateType, aggregateId);
      const record = await cells[from].states.getState(aggregateType, aggregateId);
      // The applier writes an event and its state row in one transaction; copying them one by one, the
      // state row must land first, or a reader that found the event in the log could still see no state.
      if (record) await cells[to].states.putState(record);
      for (const event of events) await cells[to].events.appendEvents([event], { tier });
    },
    freshId(prefix) {
      for (;;) {
        const id = `${prefix}-${++n}`;
        const partition = partitionOf(id, topology.partitions);
        if (!used.has(partition)) {
          used.add(partition);
          return id;
        }
      }
    },
  };
}

/** POST a command to a region. */
export function command(
  cell: Cell,
  type: string,
  id: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return cell.call({
    method: 'POST',
    path: `/v1/${type}/${id}/commands`,
    body: JSON.stringify(body),
    headers,
  });
}

export const openAccount = (owner = 'Ada') => ({ type: 'OpenAccount', payload: { owner, currency: 'EUR' } });
export const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
