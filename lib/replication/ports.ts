import type { EventEnvelope } from '../model/envelope.ts';

/** One PutEvents entry, with the SDK's field names. */
export interface BusEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly EventBusName?: string;
  readonly Time?: Date;
  readonly Resources?: readonly string[];
}

/** The PutEvents response (the SDK's and the sandbox bus's shape): one result per entry, in order. */
export interface PutEventsOutcome {
  readonly FailedEntryCount?: number;
  readonly Entries?: ReadonlyArray<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

/** The replication bus of this region (EventBridge in AWS, the local bus in the sandbox). */
export interface ReplicationBus {
  putEvents(entries: readonly BusEntry[]): Promise<PutEventsOutcome>;
}

/** A range of core sequence numbers of one aggregate, inclusive. */
export interface SeqRange {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** Reads core events from their origin region's store (closing a gap that delivery did not). */
export interface OriginReader {
  loadRange(origin: string, range: SeqRange): Promise<EventEnvelope[]>;
}

/** Metrics the replication pipeline emits (Powertools EMF in the handlers; no-op by default). */
export interface ReplicationMetrics {
  quarantined(reason: string): void;
  conflictsDetected(count: number): void;
  lag(from: string, to: string, lagMs: number): void;
  /**
   * The ordinary lane sent an aggregate's events of a batch one by one instead of in one transaction
   * (DynamoDB refused the run's request for good, or the run held poison): `events` of them, and why.
   */
  laneFallback(reason: string, events: number): void;
}

/** Metrics that go nowhere. */
export const NO_METRICS: ReplicationMetrics = {
  quarantined: () => undefined,
  conflictsDetected: () => undefined,
  lag: () => undefined,
  laneFallback: () => undefined,
};
