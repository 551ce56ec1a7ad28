import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { encodeHlc } from '../clock/hlc.ts';
import type { Tier } from '../config/schema.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { fromRawEventItem } from '../store/marshal.ts';
import { chunkEntries, DEFAULT_MAX_ENTRY_BYTES, entrySize, toBusEntry } from './entries.ts';
import {
  EntryTooLargeError,
  InvalidStreamRecordError,
  PublishFailedError,
  RowCatchUpError,
} from './errors.ts';
import { isHeartbeat } from './heartbeat.ts';
import type { HomeRows } from './home-rows.ts';
import type { BusEntry, ReplicationBus } from './ports.ts';
import type { PublishHold, PublishHolds } from './publish-holds.ts';

export interface PublisherOptions {
  /** The local region: only events that originated here are published (applied events never echo). */
  readonly region: string;
  readonly bus: ReplicationBus;
  readonly eventBusName?: string;
  /** Largest entry accepted (default 1 MiB); also the cap on one call's total entry size. */
  readonly maxEntryBytes?: number;
  /** Attempts per entry when EventBridge throttles or fails internally (default 4). */
  readonly maxAttempts?: number;
  /** Delay before retry `attempt` (1-based); default exponential from 50 ms with jitter. */
  readonly backoffMs?: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The environment's internal key: every entry is signed with it (appliers refuse unsigned events). */
  readonly signingKey?: Uint8Array;
  /**
   * The tier this region gives an aggregate type: ordinary events are stamped for the lane (detailTypeOf).
   * Without it (or for an unknown type) nothing is stamped: the real-time path takes the event.
   */
  readonly tierOf?: (aggregateType: string) => Tier | undefined;
  /**
   * Where the events it fails to publish are held until published (the origin's replication table); the
   * heartbeat carries the oldest hold so that no peer's watermark moves past it (see PublishHolds).
   */
  readonly holds?: PublishHolds;
  /**
   * The home's core rows, caught up with its log before the batch is published (see HomeRows); a row
   * that cannot be caught up now fails its records, so the stream delivers them again.
   */
  readonly rows?: HomeRows;
}

/** A stream record that could not be published, and why. */
export interface PublishFailure {
  readonly sequenceNumber: string;
  readonly error: Error;
  /** The event it held back (none for a heartbeat: it carries no data). */
  readonly hold?: PublishHold;
}

export interface PublishReport {
  /** The Lambda partial-batch response: only the failed records are retried. */
  readonly batchItemFailures: Array<{ itemIdentifier: string }>;
  readonly published: number;
  /** Records that are not ours to publish (applied events, REMOVE, ...). */
  readonly skipped: number;
  readonly failures: PublishFailure[];
}

interface Pending {
  readonly sequenceNumber: string;
  readonly eventId: string;
  readonly envelope: EventEnvelope;
  readonly entry: BusEntry;
  readonly hold?: PublishHold;
}

const RETRYABLE = /throttl|internal|unavailable|timeout|limitexceeded/i;

/** The envelope a stream record carries if this region must publish it, else undefined. */
function envelopeToPublish(record: DynamoDBRecord, region: string): EventEnvelope | undefined {
  const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
  if (!image) return undefined;
  const origin = image.origin?.S;
  if (origin !== region) return undefined;
  // Events are immutable: only INSERT is news. The heartbeat row is overwritten each tick (MODIFY).
  const heartbeat =
    image.aggregateType?.S !== undefined && isHeartbeat({ aggregateType: image.aggregateType.S });
  if (record.eventName !== 'INSERT' && !(heartbeat && record.eventName === 'MODIFY')) return undefined;
  return fromRawEventItem(repairEmptyMaps(image));
}

/**
 * The SDK's DynamoDB Streams client decodes an empty map `{ M: {} }` as `{}` (no union member), which
 * `unmarshall` rejects; images read through GetRecords (the sandbox poller) carry it for `vv: {}`.
 */
function repairEmptyMaps(image: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const repair = (value: AttributeValue): AttributeValue => {
    if (Object.keys(value).length === 0) return { M: {} };
    if (value.M) return { M: repairEmptyMaps(value.M) };
    if (value.L) return { L: value.L.map(repair) };
    return value;
  };
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, repair(v)]));
}

/**
 * Publishes a DynamoDB Streams batch of the events table to the replication bus: local-origin INSERTs
 * (and heartbeat overwrites) become PutEvents entries, sent 10 at a time; throttled entries are retried
 * with backoff a bounded number of times; an entry that is too large or keeps failing is reported as a
 * batch item failure (never dropped, never blocking the other records) and held in `holds` until it is
 * published, so the heartbeats keep every peer's watermark below it even once the stream's on-failure
 * destination has it.
 * @example const { batchItemFailures } = await publishStreamRecords(event.Records, { region, bus });
 */
export async function publishStreamRecords(
  records: readonly DynamoDBRecord[],
  options: PublisherOptions,
): Promise<PublishReport> {
  const maxBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const failures: PublishFailure[] = [];
  const pending: Pending[] = [];
  let skipped = 0;
  for (const [index, record] of records.entries()) {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? `#${index}`;
    let envelope: EventEnvelope | undefined;
    try {
      envelope = envelopeToPublish(record, options.region);
    } catch (error) {
      failures.push({
        sequenceNumber,
        error: new InvalidStreamRecordError(sequenceNumber, 'unreadable NewImage', { cause: error }),
        hold: unreadableHold(record, sequenceNumber, options.region),
      });
      continue;
    }
    if (!envelope) {
      skipped++;
      continue;
    }
    const tier = isHeartbeat(envelope) ? undefined : options.tierOf?.(envelope.aggregateType);
    const entry = toBusEntry(envelope, options.eventBusName, options.signingKey, tier);
    const hold = isHeartbeat(envelope)
      ? undefined
      : { id: envelope.eventId, hlc: envelope.hlc, partition: envelope.partition };
    const size = entrySize(entry);
    if (size > maxBytes) {
      const error = new EntryTooLargeError(envelope.eventId, size, maxBytes);
      failures.push({ sequenceNumber, error, ...(hold ? { hold } : {}) });
      continue;
    }
    pending.push({ sequenceNumber, eventId: envelope.eventId, envelope, entry, ...(hold ? { hold } : {}) });
  }
  if (options.rows) failures.push(...(await catchUpRows(options.rows, pending)));
  const published: string[] = [];
  // Only events can be held (heartbeats carry no data): a batch of heartbeats costs no read of the holds.
  const holdable = new Set(pending.flatMap((p) => (p.hold ? [p.eventId] : [])));
  for (const chunk of chunkEntries(pending, { maxBytes })) {
    const result = await putWithRetries(chunk, options);
    published.push(...result.published);
    failures.push(...result.failures);
  }
  // Held before the batch is reported failed: a retry, or the DLQ, comes only after the hold exists.
  await options.holds?.hold(failures.flatMap((f) => (f.hold ? [f.hold] : [])));
  await options.holds?.release(published.filter((id) => holdable.has(id)));
  const failed = [...new Set(failures.map((f) => f.sequenceNumber))];
  return {
    batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })),
    published: published.length,
    skipped,
    failures,
  };
}

/** The home rows of the batch's events caught up (HomeRows); a row still behind fails its records. */
async function catchUpRows(rows: HomeRows, pending: readonly Pending[]): Promise<PublishFailure[]> {
  const envelopes = pending.flatMap((p) => (p.hold ? [p.envelope] : []));
  if (envelopes.length === 0) return [];
  const behind = await rows.catchUp(envelopes);
  return pending
    .filter((p) => behind.has(p.eventId))
    .map((p) => ({ sequenceNumber: p.sequenceNumber, error: new RowCatchUpError(p.eventId) }));
}

/**
 * The hold of a record whose image cannot be read: its id is the stream sequence number and its HLC the
 * record's creation second (DynamoDB Streams rounds it down), so the hold sits at or before the event.
 */
function unreadableHold(record: DynamoDBRecord, sequenceNumber: string, region: string): PublishHold {
  const seconds = record.dynamodb?.ApproximateCreationDateTime ?? 0;
  return { id: `record:${sequenceNumber}`, hlc: encodeHlc({ wall: seconds * 1000, logical: 0, region }) };
}

function defaultBackoff(attempt: number): number {
  return Math.min(1_000, 50 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}

type ResultEntry = { EventId?: string; ErrorCode?: string; ErrorMessage?: string };

/** Sorts one attempt's results into published, to retry, and failed for good. */
function triage(remaining: readonly Pending[], results: readonly ResultEntry[], last: boolean) {
  const retry: Pending[] = [];
  const failures: PublishFailure[] = [];
  const published: string[] = [];
  for (const [i, item] of remaining.entries()) {
    const result = results[i];
    if (result?.EventId) {
      published.push(item.eventId);
      continue;
    }
    const code = result?.ErrorCode ?? 'MissingResult';
    if (!last && RETRYABLE.test(code)) {
      retry.push(item);
      continue;
    }
    const message = result?.ErrorMessage ?? 'no result entry for this request entry';
    failures.push({
      sequenceNumber: item.sequenceNumber,
      error: new PublishFailedError(item.eventId, code, message),
      ...(item.hold ? { hold: item.hold } : {}),
    });
  }
  return { retry, failures, published };
}

/** One PutEvents call per attempt; entries EventBridge refused with a retryable code go again. */
async function putWithRetries(
  chunk: readonly Pending[],
  options: PublisherOptions,
): Promise<{ published: string[]; failures: PublishFailure[] }> {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const backoff = options.backoffMs ?? defaultBackoff;
  const failures: PublishFailure[] = [];
  const published: string[] = [];
  let remaining = [...chunk];
  for (let attempt = 1; remaining.length > 0; attempt++) {
    const last = attempt >= maxAttempts;
    let results: readonly ResultEntry[];
    try {
      results = (await options.bus.putEvents(remaining.map((p) => p.entry))).Entries ?? [];
    } catch (error) {
      // The whole call failed (network, throttled request): retry it, then fail its records.
      if (last) {
        const reason = error instanceof Error ? error : new Error(String(error));
        failures.push(
          ...remaining.map((p) => ({
            sequenceNumber: p.sequenceNumber,
            error: reason,
            ...(p.hold ? { hold: p.hold } : {}),
          })),
        );
        break;
      }
      await sleep(backoff(attempt));
      continue;
    }
    const outcome = triage(remaining, results, last);
    published.push(...outcome.published);
    failures.push(...outcome.failures);
    remaining = outcome.retry;
    if (remaining.length > 0) await sleep(backoff(attempt));
  }
  return { published, failures };
}
