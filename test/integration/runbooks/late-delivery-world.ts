/**
 * The world of the late-CheckWatermark reviews (review-checkwatermark-late, review-cw-late-2): A the old
 * home, B the switchover's target, C the third region; an account with seq 1-2 everywhere and seq 3 only in
 * A; a Switchover A -> B whose target's appends wait at a gate, so its delivery can be held past whatever the
 * test does meanwhile.
 */
import { expect } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import type { Topology } from '../../../lib/config/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, type RegionCell, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import { expectStatus, untilServed } from '../../support/answers.ts';
import { type Cluster, command, deposit, openAccount, type RegionName } from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

export const A: RegionName = 'us-east-1';
export const B: RegionName = 'eu-west-1';
export const C: RegionName = 'ap-southeast-1';
export const PARTITIONS = 256;

export const devTopology = bank.topology('dev');
/** `core.ack: quorum`: CollectCopies seals every survivor and collects (the API stays local-ack). */
export const quorumTopology = { ...devTopology, core: { ...devTopology.core, ack: 'quorum' as const } };

/** Runs `runbook`'s tasks one at a time on `state`, each result kept under its task's camel-cased name. */
export function stepped(
  dispatch: ReturnType<typeof createRunbookDispatcher>,
  runbook: 'switchover' | 'failover',
  state: Record<string, unknown>,
) {
  return async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await dispatch({ runbook, task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
}

/**
 * A Failover of A (unreachable), run task by task from `from`'s deps (default C), the partition's new home
 * `to`; `topology` replaces the cluster's (quorum ack: CollectCopies seals and collects).
 */
export function failoverOfA(
  c: Cluster,
  partition: number,
  options: { readonly to: RegionName; readonly from?: RegionName; readonly topology?: Topology },
) {
  const deps: RunbookDeps = {
    ...clusterRunbookDeps(c, options.from ?? C, async (_observer, region) => ({
      reachable: region !== A,
      heartbeatAgeMs: null,
    })),
    ...(options.topology ? { topology: options.topology } : {}),
  };
  const state: Record<string, unknown> = {
    region: A,
    trigger: 'test',
    residency: { [String(partition)]: [options.to] },
  };
  return { state, task: stepped(createRunbookDispatcher(deps), 'failover', state) };
}

/** `base` whose event store holds its appends until `release` (the first one reports `reached`). */
export function gated(base: RegionCell) {
  let release!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const events = new Proxy(base.events, {
    get(target, prop) {
      if (prop === 'appendEvents')
        return async (...args: Parameters<EventStore['appendEvents']>) => {
          reach();
          await gate;
          return target.appendEvents(...args);
        };
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { cell: { ...base, events }, reached, release };
}

/** A switchover A -> B run from B whose target cell is gated (run id `${runPrefix}-${id}`). */
export function gatedSwitchover(c: Cluster, id: string, runPrefix: string) {
  const base = clusterRunbookDeps(c, B);
  const target = gated(base.cell(B));
  const run = createRunbookDispatcher({
    ...base,
    cell: (name) => (name === B ? target.cell : base.cell(name)),
    watermarkPoll: { intervalMs: 20, budgetMs: 200 },
  });
  const state: Record<string, unknown> = {
    partitions: [partitionOf(id, PARTITIONS)],
    to: B,
    run: { id: `${runPrefix}-${id}` },
  };
  return { state, task: stepped(run, 'switchover', state), target };
}

export const log = (c: Cluster, region: RegionName, id: string) =>
  c.cells[region].events.loadStream('account', id, { consistentRead: true });

/** The account: seq 1-2 in every region, seq 3 only in A. */
export async function account(c: Cluster, prefix: string) {
  const id = c.freshId(prefix);
  // Set-up writes, sent again on a 503 (a 300 ms lease can run out mid-append on a loaded machine).
  const setUp = (body: object, key: string) =>
    untilServed(() => command(c.cells[A], 'account', id, { ...body, idempotencyKey: `${id}-${key}` }));
  expectStatus(await setUp(openAccount(), 'open'), 200);
  expectStatus(await setUp(deposit(10), 'deposit-10'), 200);
  await c.replicate(A, B, 'account', id);
  await c.replicate(A, C, 'account', id);
  expectStatus(await setUp(deposit(20), 'deposit-20'), 200);
  const head = await log(c, A, id);
  expect(head.map((e) => e.seq)).toEqual([1, 2, 3]);
  return { id, partition: partitionOf(id, PARTITIONS), unreplicated: head[2]! };
}

/** The id of the write a region's API just acknowledged (its log's last event). */
export async function acknowledged(c: Cluster, region: RegionName, id: string, amount: number) {
  expect((await command(c.cells[region], 'account', id, deposit(amount))).status).toBe(200);
  return (await log(c, region, id)).at(-1)!;
}

/** Seqs held by both with different events. */
export function forks(home: readonly EventEnvelope[], other: readonly EventEnvelope[]): number[] {
  const bySeq = new Map(home.map((e) => [e.seq, e.eventId]));
  return other.filter((e) => bySeq.has(e.seq) && bySeq.get(e.seq) !== e.eventId).map((e) => e.seq);
}
