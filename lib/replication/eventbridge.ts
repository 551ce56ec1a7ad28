import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CONFLICT_DETECTED } from '../conflict/platform-events.ts';
import type { ConflictNotifier } from '../conflict/reconcile.ts';
import type { ConflictRecord } from '../conflict/record-store.ts';
import { CONFLICT_SOURCE } from './entries.ts';
import type { BusEntry, PutEventsOutcome, ReplicationBus } from './ports.ts';

export interface EventBridgeBusOptions {
  readonly client: EventBridgeClient;
}

/** The replication bus port over `@aws-sdk/client-eventbridge` PutEvents. */
export function eventBridgeBus(options: EventBridgeBusOptions): ReplicationBus {
  return {
    async putEvents(entries: readonly BusEntry[]): Promise<PutEventsOutcome> {
      const output = await options.client.send(
        new PutEventsCommand({
          Entries: entries.map((e) => ({ ...e, Resources: e.Resources ? [...e.Resources] : undefined })),
        }),
      );
      return { FailedEntryCount: output.FailedEntryCount ?? 0, Entries: output.Entries ?? [] };
    },
  };
}

export interface BusConflictNotifierOptions {
  readonly bus: ReplicationBus;
  readonly eventBusName?: string;
}

/**
 * Publishes `ConflictDetected` on the LOCAL bus with source `multiactive.conflict`, which no replication
 * rule matches: each region announces the conflicts it records to its own operators.
 */
export function busConflictNotifier(options: BusConflictNotifierOptions): ConflictNotifier {
  return {
    async conflictDetected(record: ConflictRecord): Promise<void> {
      const outcome = await options.bus.putEvents([
        {
          Source: CONFLICT_SOURCE,
          DetailType: CONFLICT_DETECTED,
          Detail: JSON.stringify(record),
          ...(options.eventBusName ? { EventBusName: options.eventBusName } : {}),
        },
      ]);
      const failed = outcome.Entries?.[0];
      if ((outcome.FailedEntryCount ?? 0) > 0 && failed?.ErrorCode) {
        throw new Error(`ConflictDetected not published: ${failed.ErrorCode} ${failed.ErrorMessage ?? ''}`);
      }
    },
  };
}
