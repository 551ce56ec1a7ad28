import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import type { OriginReader, SeqRange } from './ports.ts';

/**
 * Reads core ranges from an origin region's EventStore (a store per region, built by the caller). The
 * range stops before the first archived stub: the origin holds that event only in its archive.
 */
export function eventStoreOriginReader(storeFor: (origin: string) => EventStore): OriginReader {
  return {
    async loadRange(origin: string, range: SeqRange): Promise<EventEnvelope[]> {
      const events: EventEnvelope[] = [];
      const afterSortKey = eventSortKey('core', { seq: range.fromSeq - 1, hlc: '' });
      const pages = storeFor(origin).pages(range.aggregateType, range.aggregateId, {
        afterSortKey,
        pageSize: 100,
      });
      for await (const page of pages) {
        for (const event of page) {
          if (event.seq > range.toSeq) return events;
          // An archived stub (the origin moved its payload to the archive) is not the event: the range
          // ends before it, and the gap is left to Repair (a peer's whole copy, or the archive).
          if (isArchivedStub(event) && !bugEnabled('gap-fetch-reads-stubs')) return events;
          events.push(event);
        }
      }
      return events;
    },
  };
}
