import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { EventEnvelope } from '../model/envelope.ts';
import { fromRawEventItem } from '../store/marshal.ts';
import { chunkEntries, DEFAULT_MAX_ENTRY_BYTES, entrySize, toBusEntry } from './entries.ts';
import { EntryTooLargeError, InvalidStreamRecordError, PublishFailedError } from './errors.ts';
import { isHeartbeat } from './heartbeat.ts';
import type { BusEntry, ReplicationBus } from './ports.ts';

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
}

/** A stream record that could not be published, and why. */
export interface PublishFailure {
  readonly sequenceNumber: string;
  readonly error: Error;
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
  readonly entry: BusEntry;
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
 * batch item failure (never dropped, never blocking the other records).
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
      });
      continue;
    }
    if (!envelope) {
      skipped++;
      continue;
    }
    const entry = toBusEntry(envelope, options.eventBusName, options.signingKey);
    const size = entrySize(entry);
    if (size > maxBytes) {
      failures.push({ sequenceNumber, error: new EntryTooLargeError(envelope.eventId, size, maxBytes) });
      continue;
    }
    pending.push({ sequenceNumber, eventId: envelope.eventId, entry });
  }
  let published = 0;
  for (const chunk of chunkEntries(pending, { maxBytes })) {
    const result = await putWithRetries(chunk, options);
    published += result.published;
    failures.push(...result.failures);
  }
  const failed = [...new Set(failures.map((f) => f.sequenceNumber))];
  return {
    batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })),
    published,
    skipped,
    failures,
  };
}

function defaultBackoff(attempt: number): number {
  return Math.min(1_000, 50 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}

type ResultEntry = { EventId?: string; ErrorCode?: string; ErrorMessage?: string };

/** Sorts one attempt's results into published, to retry, and failed for good. */
function triage(remaining: readonly Pending[], results: readonly ResultEntry[], last: boolean) {
  const retry: Pending[] = [];
  const failures: PublishFailure[] = [];
  let published = 0;
  for (const [i, item] of remaining.entries()) {
    const result = results[i];
    if (result?.EventId) {
      published++;
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
    });
  }
  return { retry, failures, published };
}

/** One PutEvents call per attempt; entries EventBridge refused with a retryable code go again. */
async function putWithRetries(
  chunk: readonly Pending[],
  options: PublisherOptions,
): Promise<{ published: number; failures: PublishFailure[] }> {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const backoff = options.backoffMs ?? defaultBackoff;
  const failures: PublishFailure[] = [];
  let published = 0;
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
        failures.push(...remaining.map((p) => ({ sequenceNumber: p.sequenceNumber, error: reason })));
        break;
      }
      await sleep(backoff(attempt));
      continue;
    }
    const outcome = triage(remaining, results, last);
    published += outcome.published;
    failures.push(...outcome.failures);
    remaining = outcome.retry;
    if (remaining.length > 0) await sleep(backoff(attempt));
  }
  return { published, failures };
}
