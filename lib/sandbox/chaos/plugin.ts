import type { Anomaly, Operation, OperationName, RegionSnapshot } from '../../verify/index.ts';
import type { StepOutcome } from './clients.ts';

/** One command or read a plug-in's client sends through the sandbox's front door. */
export interface ChaosRequest {
  /** The operation recorded in the history (`write`, `append`, `read`, ...). */
  readonly f: OperationName;
  /** `<aggregateType>/<aggregateId>`: histories and evidence are kept per key. */
  readonly key: string;
  /** The argument recorded on invoke (the value written, the amount). */
  readonly value: number | string | null;
  readonly method: 'GET' | 'POST';
  /** e.g. `/v1/post/p1/commands` */
  readonly path: string;
  readonly body?: { type: string; payload: Record<string, unknown> };
  /** The region the request comes from (default: the client's); `prepare` creates each user near its home. */
  readonly from?: string;
}

/** What a plug-in's client and its `prepare` get: where they are, a seeded stream, and the front door. */
export interface ChaosClientContext {
  /** The region the client is near (the front door routes it to the nearest healthy region). */
  readonly region: string;
  /** Every region of the sandbox. */
  readonly regions: readonly string[];
  /**
   * The client's name in the history (`<region>/c<i>`): a client has one request in flight at a time;
   * `prepare` may send concurrently (each of its requests is recorded as a process of its own).
   */
  readonly process: string;
  /** A seeded stream: the same seed draws the same operations. */
  readonly random: () => number;
  /** False once the run's time is up: a client returns soon after. */
  running(): boolean;
  /**
   * Sends a request through the front door as this client, records invoke then ok / fail / info in the
   * run's history and returns the outcome. Every command carries a fresh operation id as its idempotency
   * key, stored as each event's causationId (`opId` of the history), which lets a checker map every
   * stored event back to the request that caused it.
   */
  send(request: ChaosRequest): Promise<StepOutcome & { readonly opId: string }>;
}

/** What a plug-in's checker reads after heal: its workload, the history and every region's final state. */
export interface ChaosCheckInput<W> {
  readonly workload: W;
  /** Every operation of the run, invocations paired with their outcomes. */
  readonly operations: readonly Operation[];
  /** Each region's events, projection rows, quarantine and conflict records, read after heal and quiesce. */
  readonly regions: readonly RegionSnapshot[];
}

/** A checker's verdict: anomalies (none: the invariants held) and the figures it wants in the report. */
export interface ChaosCheckResult {
  readonly anomalies: readonly Anomaly[];
  /** Counts worth a line in the report (`posts checked`, `reactions acknowledged`, ...). */
  readonly figures?: Readonly<Record<string, number>>;
}

/**
 * An application's chaos workload and checker (`defineApp({ ..., chaos })`): the chaos runner starts the
 * sandbox, calls `prepare` once, runs `clientsPerRegion` clients per region while the nemesis injects
 * faults, heals, waits for every region to settle, then runs the platform's own checks (convergence of
 * every row, nothing stranded, IAM) and `check`. Without a plug-in the runner runs its built-in workload,
 * written for the example bank (accounts, profiles, transfers).
 */
export interface ChaosPlugin<W = unknown> {
  /** Names the workload in the report. */
  readonly name: string;
  /** Clients per region when the run does not say (default 3). */
  readonly clientsPerRegion?: number;
  /**
   * Creates what the clients work on (users, posts, ...) through the front door, before faults start.
   * `ids` are the aggregate ids whose partitions the nemesis moves (Switchover) during the run.
   */
  prepare(ctx: ChaosClientContext): Promise<{ readonly workload: W; readonly ids: readonly string[] }>;
  /** One client: sends requests with `ctx.send` until `ctx.running()` is false. */
  client(ctx: ChaosClientContext, workload: W): Promise<void>;
  /**
   * Once, after the clients stopped and the nemesis healed, before the regions settle: the last writes of
   * the run, e.g. concurrent writes of one register from every region, so that the final state of each key
   * is decided by conflict resolution rather than by whichever client wrote last. Like `prepare`, it may
   * send concurrently (each request is a process of its own) and `from` picks the region it is sent from.
   */
  finale?(ctx: ChaosClientContext, workload: W): Promise<void>;
  /** The application's invariants, on the final state of every region (pure: no I/O needed). */
  check(input: ChaosCheckInput<W>): ChaosCheckResult | Promise<ChaosCheckResult>;
}

/**
 * Types a chaos plug-in against its workload (a helper for inference; it returns its argument).
 * @example export const chaos = defineChaosPlugin({ name: 'social', prepare, client, check });
 */
export function defineChaosPlugin<W>(plugin: ChaosPlugin<W>): ChaosPlugin<W> {
  return plugin;
}
