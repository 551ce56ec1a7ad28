/**
 * The batched applier's throughput (the ordinary lane: bus rule -> SQS -> batch applier), measured on the
 * DynamoDB Local and in the same run as the raw PutItem reference of bench/replication.ts. Batches are cut
 * as the lane delivers them: up to 100 records (the mapping's batch size), several aggregates each, at most
 * the mapping's maximum concurrency (5) batches at once, each by its own applier (one Lambda instance each).
 * The lane carries ordinary events only (the rule matches the `ordinary:` stamp; core and important take
 * the real-time path), so the batches hold ordinary events.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HybridLogicalClock } from '../lib/clock/index.ts';
import type { Topology } from '../lib/config/index.ts';
import { ConflictRecordStore } from '../lib/conflict/index.ts';
import type { AggregateRegistry, EventEnvelope } from '../lib/model/index.ts';
import {
  createBatchApplier,
  type LaneRecord,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../lib/replication/index.ts';
import type { EventStore, StateStore, tableNames } from '../lib/store/index.ts';
import { originChain } from './origin-chain.ts';

/** The lane's delivery shape (cdk/constructs/ordinary-lane.ts defaults: batches of 100, 5 at once). */
export const LANE_SHAPE = { batchSize: 100, concurrency: 5 } as const;

export interface LaneCell {
  readonly region: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: ReturnType<typeof tableNames>;
  readonly clock: HybridLogicalClock;
  readonly events: EventStore;
  readonly states: StateStore;
}

/** Ordinary events of one aggregate as the origin wrote them (a causal chain, one entry each). */
function activityEvents(
  registry: AggregateRegistry,
  id: string,
  count: number,
  clock: HybridLogicalClock,
): EventEnvelope[] {
  return originChain(registry, { aggregate: 'activity', id, count, clock }, (i) => ({
    type: 'EntryAppended',
    payload: { kind: 'bench', message: `m${i}` },
  }));
}

/** A lane message as the rule puts it on the queue: the EventBridge event, as JSON. */
function laneRecord(event: EventEnvelope, id: string): LaneRecord {
  return {
    id,
    body: JSON.stringify({
      version: '0',
      source: 'multiactive.replication',
      'detail-type': `ordinary:${event.type}`,
      detail: event,
    }),
    receivedAt: new Date(),
  };
}

/**
 * The batches of one lane worker: `rounds` batches of `batchSize` records, each `aggregatesPerBatch`
 * aggregates with their next events in order (an aggregate's events follow one another across batches).
 */
function workerBatches(
  registry: AggregateRegistry,
  options: {
    worker: number;
    rounds: number;
    run: string;
    clock: HybridLogicalClock;
    aggregatesPerBatch: number;
  },
): LaneRecord[][] {
  const { batchSize } = LANE_SHAPE;
  const { aggregatesPerBatch } = options;
  const perAggregate = batchSize / aggregatesPerBatch;
  const chains = Array.from({ length: aggregatesPerBatch }, (_, a) =>
    activityEvents(
      registry,
      `lane-${options.run}-${options.worker}-${a}`,
      perAggregate * options.rounds,
      options.clock,
    ),
  );
  return Array.from({ length: options.rounds }, (_, round) =>
    chains.flatMap((chain, a) =>
      chain
        .slice(round * perAggregate, (round + 1) * perAggregate)
        .map((event, i) => laneRecord(event, `w${options.worker}r${round}a${a}e${i}`)),
    ),
  );
}

/** What the lane's throughput run measured. */
export interface LaneThroughput {
  readonly eventsPerSecond: number;
  readonly events: number;
  /** DynamoDB requests per applied event, by command (the doc client's calls during the run). */
  readonly requestsPerEvent: Record<string, number>;
}

/**
 * Applies `totalEvents` ordinary events (rounded to whole batches) through the lane's batch applier, each
 * batch holding the next events of `aggregatesPerBatch` aggregates (100: one event per aggregate, the
 * lane's worst case, one transaction per record).
 */
export async function laneThroughput(
  cell: LaneCell,
  options: {
    registry: AggregateRegistry;
    topology: Topology;
    totalEvents: number;
    clock: HybridLogicalClock;
    aggregatesPerBatch: number;
  },
): Promise<LaneThroughput> {
  const { batchSize, concurrency } = LANE_SHAPE;
  const rounds = Math.max(1, Math.round(options.totalEvents / (batchSize * concurrency)));
  const run = Date.now().toString(36);
  const batches = Array.from({ length: concurrency }, (_, worker) =>
    workerBatches(options.registry, {
      worker,
      rounds,
      run,
      clock: options.clock,
      aggregatesPerBatch: options.aggregatesPerBatch,
    }),
  );
  const replication = { client: cell.doc, tableName: cell.tables.replication };
  const appliers = batches.map(() =>
    createBatchApplier({
      region: cell.region,
      topology: options.topology,
      registry: options.registry,
      clock: cell.clock,
      events: cell.events,
      states: cell.states,
      watermarks: new WatermarkStore(replication),
      parking: new ParkingStore(replication),
      conflicts: new ConflictRecordStore(replication),
      quarantine: new QuarantineStore({ client: cell.doc, tableName: cell.tables.quarantine }),
    }),
  );
  const calls = new Map<string, number>();
  let counting = true;
  const middleware = 'laneBenchCount';
  cell.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (counting) calls.set(command, (calls.get(command) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: middleware },
  );
  const started = performance.now();
  try {
    await Promise.all(
      batches.map(async (worker, w) => {
        for (const batch of worker) {
          const report = await appliers[w]!(batch);
          const notApplied = report.outcomes.filter((o) => o.outcome.status !== 'applied');
          if (report.failed.length > 0 || notApplied.length > 0 || report.fallbacks.length > 0)
            throw new Error(
              `lane bench: ${JSON.stringify({ failed: report.failed, notApplied, fallbacks: report.fallbacks })}`,
            );
        }
      }),
    );
  } finally {
    counting = false;
    cell.doc.middlewareStack.remove(middleware);
  }
  const seconds = (performance.now() - started) / 1000;
  const events = concurrency * rounds * batchSize;
  const requestsPerEvent = Object.fromEntries(
    [...calls].map(([command, count]) => [
      command.replace(/Command$/, ''),
      Math.round((count / events) * 1000) / 1000,
    ]),
  );
  return { eventsPerSecond: events / seconds, events, requestsPerEvent };
}
