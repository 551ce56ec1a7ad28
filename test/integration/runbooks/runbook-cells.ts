import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { DynamoPartitionSource } from '../../../lib/repair/index.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import type { EventStore, StateStore } from '../../../lib/store/index.ts';
import type { TestRegion } from '../../support/dynamo.ts';

/** A runbook's view of one test region's tables; `replay` is whatever the test's applier is. */
export function tableCell(input: {
  region: string;
  tables: TestRegion;
  events: EventStore;
  states: StateStore;
  replay?: RegionCell['replay'];
}): RegionCell {
  const { doc, tables } = input.tables;
  return {
    region: input.region,
    source: new DynamoPartitionSource({ client: doc, tableName: tables.events }),
    replay: input.replay ?? (async () => undefined),
    watermarks: async () => [],
    events: input.events,
    states: input.states,
    conflicts: new ConflictRecordStore({ client: doc, tableName: tables.replication }),
    tables: {
      client: doc,
      events: tables.events,
      state: tables.state,
      replication: tables.replication,
      control: tables.control,
    },
  };
}
