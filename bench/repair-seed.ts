/**
 * Seeds the repair bench's missed events straight into the writer regions' DynamoDB Local tables
 * (BatchWriteItem, as the snapshots bench does): 100,000 events through the HTTP APIs and the replication
 * pipeline would take far longer than the repair they are there to measure. The events are what the
 * command path writes: each aggregate's commands decided by its decider on the state folded so far, wrapped
 * by `envelopeEvents` with the origin's HLC; the rows are their logs' folds (`rowOfLog`), the core
 * aggregates carry their core markers (and, in the region that received them, the copy marker).
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HybridLogicalClock } from '../lib/clock/index.ts';
import { envelopeEvents } from '../lib/commands/envelopes.ts';
import { emptyRecord, foldRecord } from '../lib/commands/execute.ts';
import type { Topology } from '../lib/config/schema.ts';
import { policyFor } from '../lib/conflict/index.ts';
import type { AnyAggregate } from '../lib/model/aggregate.ts';
import type { EventEnvelope } from '../lib/model/envelope.ts';
import { partitionOf } from '../lib/ownership/partition.ts';
import { rowOfLog } from '../lib/repair/rows.ts';
import type { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { quorumMarkerPut } from '../lib/store/copy-markers.ts';
import { coreMarkerPuts } from '../lib/store/core-markers.ts';
import { aggregateKey, toEventItem } from '../lib/store/index.ts';

/** BatchWriteItem takes at most 25 items; several batches in flight per region. */
const BATCH = 25;
const IN_FLIGHT = 8;

/** One writer region's tables, as the seeder writes them. */
export interface SeededRegion {
  readonly name: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { readonly events: string; readonly state: string; readonly replication: string };
}

/** An aggregate's commands (the bench's workload: accounts opened then deposited into, profiles renamed). */
export interface SeedScript {
  readonly aggregate: AnyAggregate;
  readonly aggregateId: string;
  /** The region that writes it (its events' origin). */
  readonly origin: string;
  readonly commands: ReadonlyArray<{ type: string; payload: Record<string, unknown> }>;
}

/** The log and row one script writes, decided and folded as the command path does. */
export function decideScript(
  script: SeedScript,
  context: { topology: Topology; clocks: ReadonlyMap<string, HybridLogicalClock> },
): { log: EventEnvelope[]; row: ReturnType<typeof rowOfLog> } {
  const { aggregate, aggregateId, origin } = script;
  const clock = context.clocks.get(origin)!;
  const partition = partitionOf(aggregateId, context.topology.partitions);
  let record = emptyRecord(aggregate, aggregateId);
  const log: EventEnvelope[] = [];
  for (const [i, command] of script.commands.entries()) {
    const decided = aggregate.decide(command, JSON.parse(record.state), { now: clock.wallNow() });
    const envelopes = envelopeEvents(decided, {
      aggregate,
      aggregateId,
      partition,
      region: origin,
      clock,
      epoch: 1,
      seq: record.seq,
      vv: record.vv,
      head: record.head,
      correlationId: `seed-${aggregateId}-${i}`,
      causationId: `seed-${aggregateId}-${i}`,
    });
    record = foldRecord(aggregate, record, envelopes);
    log.push(...envelopes);
  }
  const row = rowOfLog(aggregate, policyFor(aggregate, context.topology), { aggregateId, log });
  return { log, row };
}

/** Writes items to one table, 25 per BatchWriteItem, IN_FLIGHT calls at once, unprocessed items again. */
async function batchWrite(doc: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) {
        const start = next;
        next += BATCH;
        let requests = items.slice(start, start + BATCH).map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
          requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
        }
      }
    }),
  );
}

/** A script decided: its aggregate, origin, log and row. */
export interface DecidedScript {
  readonly script: SeedScript;
  readonly log: EventEnvelope[];
  readonly row: ReturnType<typeof rowOfLog>;
}

/** Decides every script with one HLC per origin (what `seedDecided` writes and a bench may deliver). */
export function decideScripts(scripts: readonly SeedScript[], topology: Topology): DecidedScript[] {
  const clocks = new Map(
    [...new Set(scripts.map((s) => s.origin))].map((region) => [region, new HybridLogicalClock({ region })]),
  );
  return scripts.map((script) => ({ script, ...decideScript(script, { topology, clocks }) }));
}

/**
 * Writes decided scripts' events, rows and markers into every region of `into`; returns the number of
 * events each region now holds from the seed.
 */
export async function seedDecided(
  decided: readonly DecidedScript[],
  options: { into: readonly SeededRegion[] },
): Promise<number> {
  const events: Record<string, unknown>[] = [];
  const rows: Record<string, unknown>[] = [];
  const coreLogs: Array<{ origin: string; log: EventEnvelope[] }> = [];
  for (const { script, log, row } of decided) {
    events.push(...log.map((event) => toEventItem(script.aggregate.tier, event)));
    rows.push({ pk: aggregateKey(row.aggregateType, row.aggregateId), ...row });
    if (script.aggregate.tier === 'core') coreLogs.push({ origin: script.origin, log });
  }
  await Promise.all(
    options.into.map(async (region) => {
      const markers = coreLogs.flatMap(({ origin, log }) => [
        ...coreMarkerPuts(region.tables.replication, log).map(
          (put) => put.Put!.Item as Record<string, unknown>,
        ),
        ...(origin === region.name ? [] : [quorumMarkerPut(region.tables.replication, log.at(-1)!).Item]),
      ]);
      await batchWrite(region.doc, region.tables.events, events);
      await batchWrite(region.doc, region.tables.state, rows);
      await batchWrite(region.doc, region.tables.replication, markers as Record<string, unknown>[]);
    }),
  );
  return events.length;
}

/**
 * Decides every script and writes its events, row and markers into every region of `into`; returns the
 * number of events each region now holds from the seed.
 */
export async function seedScripts(
  scripts: readonly SeedScript[],
  options: { topology: Topology; into: readonly SeededRegion[] },
): Promise<number> {
  return seedDecided(decideScripts(scripts, options.topology), options);
}

/**
 * Runs `write` with the stream pollers of `regions` stopped, restarted at LATEST afterwards
 * (`SandboxRegion.withoutPublishing`): seeded records are never published, and the bench's clock starts
 * with no publishing backlog.
 */
export function withoutPublishing<T>(
  sandbox: Sandbox,
  regions: readonly string[],
  write: () => Promise<T>,
): Promise<T> {
  const quiet = regions.reduceRight<() => Promise<T>>(
    (inner, name) => () => sandbox.region(name).withoutPublishing(inner),
    write,
  );
  return quiet();
}
