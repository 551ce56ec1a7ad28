/** An event as EventBridge hands it to a target (the envelope every AWS event has). */
export type EventBridgeEvent = {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
};

/** A rule target's retry policy; AWS's defaults are 185 retries and 24 hours. */
export interface RetryPolicy {
  /** Retries after the first attempt (0-185). */
  maximumRetryAttempts: number;
  /** Give up once the event is this old (60-86400 in AWS; any positive number here). */
  maximumEventAgeSeconds: number;
}

/** Why Lambda gave up an asynchronous invocation (the invocation record's `requestContext.condition`). */
export type AsyncInvokeCondition = 'RetriesExhausted' | 'EventAgeExceeded';

/**
 * A Lambda target's asynchronous invocation, as Lambda runs it once EventBridge handed the event over: a
 * function error is retried by Lambda (not by the rule's RetryPolicy), then given to `onFailure`.
 */
export interface AsyncInvokePolicy {
  readonly maximumRetryAttempts: number;
  /** Lambda's waits before each retry (the last one repeats). */
  readonly retryDelaysMs: readonly number[];
  readonly maximumEventAgeMs: number;
  /** The on-failure destination (an invocation record); without one the event is dropped. */
  readonly onFailure?: (
    event: EventBridgeEvent,
    failure: { condition: AsyncInvokeCondition; approximateInvokeCount: number; error: unknown },
  ) => Promise<void>;
}

/** A rule target: a function standing in for a Lambda, a peer bus, a queue... */
export interface BusTarget {
  id: string;
  /** Delivers the event; a Lambda target throws `FunctionError` when the function itself failed. */
  deliver: (event: EventBridgeEvent) => Promise<void>;
  retryPolicy?: RetryPolicy;
  /** Receives events whose delivery was given up, with the last error (AWS: the target's DLQ). */
  deadLetter?: (event: EventBridgeEvent, error: unknown) => Promise<void>;
  /** A Lambda target: how Lambda retries a failed invocation and where it sends it then. */
  asyncInvoke?: AsyncInvokePolicy;
}

/** PutRule + PutTargets in one call. */
export interface RuleInput {
  name: string;
  /** Object or JSON string, validated like PutRule does. */
  eventPattern: unknown;
  targets: BusTarget[];
}

/** One PutEvents request entry, with the SDK's field names. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: Date;
  Resources?: string[];
}

/** One PutEvents result entry: an id for an accepted entry, an error for a refused one. */
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** The PutEvents response. */
export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

/** What the bus has done so far. */
export interface EventBusStats {
  /** Entries accepted by putEvents. */
  accepted: number;
  /** Entries refused by putEvents (entry-level errors). */
  rejected: number;
  /** (event, target) pairs scheduled for delivery. */
  matched: number;
  delivered: number;
  /** Delivery attempts after the first one. */
  retries: number;
  /** Events handed to a target's deadLetter callback. */
  deadLettered: number;
  /** Lambda's retries of a failed asynchronous invocation (Lambda targets). */
  functionRetries: number;
  /** Asynchronous invocations Lambda gave up on (sent to the on-failure destination, or dropped). */
  functionFailures: number;
  /** Events given up with no deadLetter (or whose deadLetter failed): reported through onDropped. */
  dropped: number;
  inFlight: number;
}
