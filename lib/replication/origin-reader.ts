import type { EventEnvelope } from '../model/envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import type { OriginReader, SeqRange } from './ports.ts';

/** Reads core ranges from an origin region's EventStore (a store per region, built by the caller). */
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
          events.push(event);
        }
      }
      return events;
    },
  };
}
