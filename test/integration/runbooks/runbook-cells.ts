import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { DynamoPartitionSource, type PartitionEventSource } from '../../../lib/repair/index.ts';
import type { RegionCell, RunbookDeps } from '../../../lib/runbooks/index.ts';
import type { EventStore, StateStore } from '../../../lib/store/index.ts';
import type { TestRegion } from '../../support/dynamo.ts';
import type { Cluster, RegionName } from '../routing/cluster.ts';

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

const devTopology = bank.topology('dev');

/**
 * Runbook deps of `region` in a routing test cluster: its quorum map, every region's tables as cells,
 * traffic changes ignored; `observe` (what the region's voters see) reports every region up by default.
 */
export function clusterRunbookDeps(
  cluster: Cluster,
  region: RegionName,
  observe: RunbookDeps['observe'] = async () => ({ reachable: true, heartbeatAgeMs: 0 }),
): RunbookDeps {
  const { map } = cluster.cells[region];
  return {
    region,
    topology: devTopology,
    registry: createRegistry(exampleAggregates, devTopology),
    map,
    register: map.register,
    cell: (name) => {
      const c = cluster.cells[name as RegionName];
      return tableCell({ region: name, tables: c.tables, events: c.events, states: c.states });
    },
    observe,
    setTraffic: async () => undefined,
    // Fence's compare-and-sets stop 2 s after its start; a Rollback without `$.fence` waits ~2.7 s.
    fenceWindow: { budgetMs: 2_000, settleMs: 200 },
  };
}

/** A region's by-partition index that has not caught up with some events yet (a GSI is eventually consistent). */
export function lagging(source: PartitionEventSource, hidden: ReadonlySet<string>): PartitionEventSource {
  return {
    listLeaves: async (p) => (await source.listLeaves(p)).filter((l) => !hidden.has(l.eventId)),
    getEvents: async (p, ids) => (await source.getEvents(p, ids)).filter((e) => !hidden.has(e.eventId)),
  };
}
