import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { BatchItemFailuresError, StreamPollerError } from './errors.ts';

/** What a stream handler may answer: a partial batch response, or nothing (= the whole batch succeeded). */
// biome-ignore lint/suspicious/noConfusingVoidType: same as aws-lambda's DynamoDBStreamHandler, so real handlers fit as they are
export type StreamHandlerResult = DynamoDBBatchResponse | undefined | void;

/** The event source mapping's error handling settings. */
export interface BatchPolicy {
  /** Retries after the first attempt; -1 retries forever (Lambda's default, and a poison-pill risk). */
  maxRetries: number;
  /** On a thrown handler error, split the batch in two and process each half (BisectBatchOnFunctionError). */
  bisectOnError: boolean;
  retryDelayMs: number;
}

/** What processing a batch needs from the poller. */
export interface BatchRuntime {
  handler: (records: DynamoDBRecord[]) => Promise<StreamHandlerResult>;
  /** The on-failure destination; without one, records past the retries are only reported through onError. */
  onFailure?: (records: DynamoDBRecord[], error: unknown) => Promise<void>;
  onError: (error: unknown) => void;
  /** Records that everything up to and including this sequence number is done with. */
  checkpoint: (sequenceNumber: string) => void;
  /** Waits between retries; resolves false when the poller is stopping. */
  sleep: (ms: number) => Promise<boolean>;
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; firstFailed: number; error: unknown }
  | { kind: 'error'; error: unknown; thrown: boolean };

const seqOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';

// Sequence numbers are decimal strings of varying length: compare as big integers.
const bySequence = (a: string, b: string): number =>
  BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;

/** Reads a handler's answer the way ReportBatchItemFailures does. */
function interpret(records: DynamoDBRecord[], response: StreamHandlerResult): Outcome {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return { kind: 'success' };
  const ids = failures.map((f) => f?.itemIdentifier);
  const index = new Map(records.map((r, i) => [seqOf(r), i]));
  const invalidAt = ids.findIndex((id) => typeof id !== 'string' || id === '' || !index.has(id));
  if (invalidAt >= 0) {
    // An empty, missing or unknown identifier makes Lambda treat the whole batch as failed.
    const error = new StreamPollerError(
      `Invalid itemIdentifier in batchItemFailures: ${JSON.stringify(ids[invalidAt] ?? null)}`,
    );
    return { kind: 'error', thrown: false, error };
  }
  const first = [...ids].sort(bySequence)[0] as string;
  return { kind: 'partial', firstFailed: index.get(first) as number, error: new BatchItemFailuresError(ids) };
}

async function invoke(runtime: BatchRuntime, records: DynamoDBRecord[]): Promise<Outcome> {
  try {
    return interpret(records, await runtime.handler(records));
  } catch (error) {
    return { kind: 'error', error, thrown: true };
  }
}

async function giveUp(runtime: BatchRuntime, records: DynamoDBRecord[], error: unknown): Promise<void> {
  try {
    if (runtime.onFailure) await runtime.onFailure(records, error);
    else
      runtime.onError(
        new StreamPollerError(
          `Discarded ${records.length} record(s) after retries: no onFailure destination`,
          { cause: error },
        ),
      );
  } catch (destinationError) {
    runtime.onError(
      new StreamPollerError('onFailure destination failed; records discarded', { cause: destinationError }),
    );
  }
  runtime.checkpoint(seqOf(records.at(-1) as DynamoDBRecord));
}

/**
 * Processes one batch with Lambda's stream semantics: success checkpoints it; a partial failure
 * checkpoints the records before the lowest failed sequence number and retries from there; a thrown
 * error retries the whole batch, or its halves when bisecting; past `maxRetries` the failing records
 * go to onFailure and the shard moves on. Returns `stopped` if the poller stopped during a retry wait
 * (nothing further is checkpointed, so those records are read again on the next start).
 */
export async function processBatch(
  records: DynamoDBRecord[],
  policy: BatchPolicy,
  runtime: BatchRuntime,
  attempt = 0,
): Promise<'done' | 'stopped'> {
  if (records.length === 0) return 'done';
  const outcome = await invoke(runtime, records);
  if (outcome.kind === 'success') {
    runtime.checkpoint(seqOf(records.at(-1) as DynamoDBRecord));
    return 'done';
  }
  if (outcome.kind === 'error' && outcome.thrown && policy.bisectOnError && records.length > 1) {
    // Splitting does not use up a retry; halves shrink, so this ends.
    const middle = Math.ceil(records.length / 2);
    const first = await processBatch(records.slice(0, middle), policy, runtime, attempt);
    return first === 'stopped' ? first : processBatch(records.slice(middle), policy, runtime, attempt);
  }
  let remaining = records;
  if (outcome.kind === 'partial') {
    if (outcome.firstFailed > 0)
      runtime.checkpoint(seqOf(records[outcome.firstFailed - 1] as DynamoDBRecord));
    remaining = records.slice(outcome.firstFailed);
  }
  if (policy.maxRetries >= 0 && attempt >= policy.maxRetries) {
    await giveUp(runtime, remaining, outcome.error);
    return 'done';
  }
  if (!(await runtime.sleep(policy.retryDelayMs))) return 'stopped';
  return processBatch(remaining, policy, runtime, attempt + 1);
}
