/**
 * What each operation of the platform costs in AWS requests, read from the code that performs it. This is
 * the one place the model learns request counts from: when the code changes (a new read, a transaction
 * that grows), change the operation here, and the sandbox comparison test (`test/e2e/cost-model.test.ts`)
 * fails until you do.
 *
 * Units follow DynamoDB's billing: a standard write is 1 write unit per KB, a transactional one 2 per KB
 * and per member (ConditionCheck members included); a strongly consistent read 1 read unit per 4 KB, an
 * eventually consistent one half; an index write 1 unit per KB of the projected item.
 */
import type { TableKind } from '../store/tables.ts';

/** Where a request lands, seen from the region running the operation. */
export type Place =
  /** this region's table */
  | 'self'
  /** the nearest peer that takes the quorum-ack copy */
  | 'quorumPeer'
  /** one request to every region's table, this one included (quorum reads of the control state) */
  | 'everyRegion';

export type DynamoAction =
  | 'GetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'TransactWriteItems';

/** One DynamoDB request of an operation. */
export interface DynamoCall {
  readonly action: DynamoAction;
  readonly table: TableKind;
  readonly place: Place;
  /** How many such requests per operation (fractions: a branch taken that share of the time). */
  readonly count: number;
  /** Items the request carries (transaction members; 1 otherwise). */
  readonly items: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Write units on the events table's byPartition index (the index projects ALL attributes). */
  readonly indexWriteUnits: number;
  /** Stream records the request adds to the table's stream (events table only). */
  readonly streamRecords: number;
  /** A transaction's write units per table (its members may span tables); absent: all on `table`. */
  readonly writeUnitsByTable?: Readonly<Partial<Record<TableKind, number>>>;
  /** A partition key every such request hits: per-key throughput binds there. */
  readonly hotKey?: string;
  /** Bytes on the wire (request + response), for the data that crosses regions. */
  readonly bytes: number;
}

/** Sizes and switches an operation's requests depend on. */
export interface OperationContext {
  readonly eventsPerWrite: number;
  /** Stored size of one event item (envelope + keys). */
  readonly eventBytes: number;
  /** Stored size of one projection row. */
  readonly stateBytes: number;
  /** Share of applier deliveries whose aggregate row the applier instance has cached (StateRecordCache). */
  readonly cacheHitRate: number;
}

/** Sizes of the platform's own items, measured on DynamoDB Local items of the example application. */
export const ITEM_BYTES = {
  /** A partition-map or traffic-state register entry (`control` table). */
  control: 250,
  /** A watermark row (`replication` table, pk WATERMARK). */
  watermark: 150,
  /** The heartbeat row (`events` table, overwritten every tick; no index key). */
  heartbeat: 450,
  /** The quarantine counter row. */
  counter: 60,
  /** An idempotency record without its stored response. */
  idempotencyBase: 300,
  /** DynamoDB JSON on the wire is about this much larger than the stored item. */
  wireOverhead: 1.3,
} as const;

const KB = 1024;
const wu = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const ru = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));

function call(
  action: DynamoAction,
  table: TableKind,
  partial: Partial<Omit<DynamoCall, 'action' | 'table'>> = {},
): DynamoCall {
  return {
    action,
    table,
    place: 'self',
    count: 1,
    items: 1,
    readUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    streamRecords: 0,
    bytes: 0,
    ...partial,
  };
}

/** A strongly consistent GetItem of an item of `bytes`. */
const getItem = (table: TableKind, bytes: number, extra: Partial<DynamoCall> = {}) =>
  call('GetItem', table, { readUnits: ru(bytes), bytes: bytes * ITEM_BYTES.wireOverhead + 200, ...extra });

/** A strongly consistent Query returning `bytes` in all (at least one read unit). */
const query = (table: TableKind, bytes: number, extra: Partial<DynamoCall> = {}) =>
  call('Query', table, { readUnits: ru(bytes), bytes: bytes * ITEM_BYTES.wireOverhead + 250, ...extra });

/** Members of a TransactWriteItems: each costs 2 write units per KB (ConditionCheck: of the checked item). */
interface Member {
  readonly table: TableKind;
  readonly bytes: number;
  /** An event Put: also an index write and a stream record. */
  readonly event?: boolean;
}

function transact(members: readonly Member[], extra: Partial<DynamoCall> = {}): DynamoCall {
  const events = members.filter((m) => m.event);
  const byTable: Partial<Record<TableKind, number>> = {};
  for (const m of members) byTable[m.table] = (byTable[m.table] ?? 0) + 2 * wu(m.bytes);
  return call('TransactWriteItems', members[0]!.table, {
    items: members.length,
    writeUnits: members.reduce((sum, m) => sum + 2 * wu(m.bytes), 0),
    writeUnitsByTable: byTable,
    indexWriteUnits: events.reduce((sum, m) => sum + wu(m.bytes), 0),
    streamRecords: events.length,
    bytes: members.reduce((sum, m) => sum + m.bytes * ITEM_BYTES.wireOverhead, 200),
    ...extra,
  });
}

const eventPuts = (c: OperationContext): Member[] =>
  Array.from({ length: Math.max(1, Math.round(c.eventsPerWrite)) }, () => ({
    table: 'events' as const,
    bytes: c.eventBytes,
    event: true,
  }));

/** The watermark advance of an applied event or heartbeat: one conditional UpdateItem on pk WATERMARK. */
const watermarkUpdate = (count = 1) =>
  call('UpdateItem', 'replication', {
    count,
    writeUnits: wu(ITEM_BYTES.watermark),
    hotKey: 'replication/WATERMARK',
    bytes: 400,
  });

/** An operation: a name, what it is, and its requests. */
export interface Operation {
  readonly description: string;
  /** Where in the code it happens. */
  readonly code: string;
  calls(context: OperationContext): DynamoCall[];
}

/**
 * Every operation of the data plane with its DynamoDB requests.
 * @example OPERATIONS['command.core'].calls(context).length // 4
 */
export const OPERATIONS = {
  'command.core': {
    description: 'a core command at its home, lease held: row, catch-up query, fenced append, row',
    code: 'lib/commands/execute.ts executeCommand (currentRecord, catchUpCoreRow, appendDecided)',
    calls: (c) => [
      getItem('state', c.stateBytes),
      // catchUpCoreRow: the log beyond the row (nothing, normally)
      query('events', 0),
      // the events and the fence guard's ConditionCheck on this region's control entry
      transact([...eventPuts(c), { table: 'control', bytes: ITEM_BYTES.control }]),
      call('PutItem', 'state', { writeUnits: wu(c.stateBytes), bytes: c.stateBytes * ITEM_BYTES.wireOverhead }),
    ],
  },
  'command.core.quorumCopy': {
    description: "core.ack quorum: the events copied into the nearest peer's events table before the local append",
    code: 'lib/commands/quorum-ack.ts quorumReplicator (EventStore.appendEvents without guards)',
    calls: (c) => {
      const puts = eventPuts(c);
      if (puts.length === 1)
        return [
          call('PutItem', 'events', {
            place: 'quorumPeer',
            writeUnits: wu(c.eventBytes),
            indexWriteUnits: wu(c.eventBytes),
            streamRecords: 1,
            bytes: c.eventBytes * ITEM_BYTES.wireOverhead + 200,
          }),
        ];
      return [transact(puts, { place: 'quorumPeer' })];
    },
  },
  'command.materialized': {
    description: 'an important or ordinary command: row, then events and the guarded row in one transaction',
    code: 'lib/commands/execute.ts executeCommand (non-core branch of appendDecided)',
    calls: (c) => [
      getItem('state', c.stateBytes),
      transact([...eventPuts(c), { table: 'state', bytes: c.stateBytes }]),
    ],
  },
  'command.idempotent': {
    description: 'Powertools idempotency around a command with a key (also every forwarded core write)',
    code: 'lib/api/commands.ts createCommandRunner (DynamoDBPersistenceLayer: put in progress, then update)',
    calls: (c) => [
      call('PutItem', 'idempotency', { writeUnits: 1, bytes: 600 }),
      call('UpdateItem', 'idempotency', {
        writeUnits: wu(ITEM_BYTES.idempotencyBase + c.stateBytes),
        bytes: ITEM_BYTES.idempotencyBase + c.stateBytes + 300,
      }),
    ],
  },
  'lease.refresh': {
    description: "a home's lease on a partition: a majority read of the register (every replica asked), then its local copy settled",
    code: 'lib/ownership/ownership.ts refresh (QuorumRegister.read, settleLocalCopy)',
    calls: () => [
      getItem('control', ITEM_BYTES.control, { place: 'everyRegion' }),
      call('PutItem', 'control', { writeUnits: 1, bytes: ITEM_BYTES.control * 2 }),
    ],
  },
  'traffic.refresh': {
    description: "the region's drained/active state read from a majority (every replica asked), cached 5 s per instance",
    code: 'lib/resilience/traffic-breaker.ts TrafficBreaker.traffic',
    calls: () => [getItem('control', ITEM_BYTES.control, { place: 'everyRegion' })],
  },
  'sync.refresh': {
    description: "the sync breakers' lag of every peer: the watermark rows, at most once a second per instance",
    code: 'lib/resilience/sync-breaker.ts refresh -> ReplicationWatermarks.lagMs -> WatermarkStore.list',
    calls: () => [query('replication', 3 * ITEM_BYTES.watermark)],
  },
  'read.local': {
    description: 'GET /v1/{type}/{id} without a token: the projection row',
    code: 'lib/api/app.ts getAggregate readLocal',
    calls: (c) => [getItem('state', c.stateBytes)],
  },
  'read.token': {
    description: "the extra reads of a token naming another region: the watermark rows, then the row's head or the event",
    code: 'lib/routing/read-your-writes.ts covers',
    calls: (c) => [query('replication', 3 * ITEM_BYTES.watermark), getItem('state', c.stateBytes)],
  },
  health: {
    description: 'GET /health: replication status (watermarks, quarantine counter, open conflicts count)',
    code: 'lib/replication/status.ts replicationStatus',
    calls: () => [
      query('replication', 3 * ITEM_BYTES.watermark),
      getItem('quarantine', ITEM_BYTES.counter),
      query('replication', 0),
    ],
  },
  'heartbeat.tick': {
    description: "one lag-monitor tick: the region's heartbeat row overwritten, then the watermark rows",
    code: 'lib/replication/lag-monitor.ts runLagMonitorTick',
    calls: () => [
      call('PutItem', 'events', {
        writeUnits: wu(ITEM_BYTES.heartbeat),
        streamRecords: 1,
        bytes: ITEM_BYTES.heartbeat * ITEM_BYTES.wireOverhead,
      }),
      query('replication', 3 * ITEM_BYTES.watermark),
    ],
  },
  'apply.core': {
    description: 'a replicated core event in order: (row unless cached) then event, row, not-parked and next-slot checks in one transaction, then the watermark',
    code: 'lib/replication/apply-core.ts applyCore -> appendInOrder; applier.ts advance',
    calls: (c) => [
      getItem('state', c.stateBytes, { count: 1 - c.cacheHitRate }),
      transact([
        ...eventPuts({ ...c, eventsPerWrite: 1 }),
        { table: 'state', bytes: c.stateBytes },
        { table: 'replication', bytes: 0 },
        { table: 'events', bytes: 0 },
      ]),
      watermarkUpdate(),
    ],
  },
  'apply.core.quorumCopy': {
    description:
      'a replicated core event at the peer that already holds its quorum-ack copy: the in-order transaction finds the event there, the general path appends nothing, catches the row up and reports a duplicate (no watermark advance)',
    code: 'lib/replication/apply-core.ts applyCore -> appendInOrder (duplicate) -> applyInAnyOrder (place, catchUpCoreRow, storedAt)',
    calls: (c) => [
      // a cached row is tried first, then the row is read and tried again
      transact(
        [
          { table: 'events', bytes: c.eventBytes },
          { table: 'state', bytes: c.stateBytes },
          { table: 'replication', bytes: 0 },
          { table: 'events', bytes: 0 },
        ],
        { count: 1 + c.cacheHitRate, indexWriteUnits: 0, streamRecords: 0 },
      ),
      getItem('state', c.stateBytes, { count: 2 }),
      // appendAtSeq: the conditional put that finds the copy
      call('PutItem', 'events', { writeUnits: wu(c.eventBytes), bytes: c.eventBytes * ITEM_BYTES.wireOverhead }),
      // catchUpCoreRow's query (returns the copy) and storedAt's one-item query
      query('events', c.eventBytes, { count: 2 }),
      call('PutItem', 'state', { writeUnits: wu(c.stateBytes), bytes: c.stateBytes * ITEM_BYTES.wireOverhead }),
    ],
  },
  'apply.materialized': {
    description: 'a replicated important/ordinary event folding on top: (row unless cached) then event and guarded row, then the watermark',
    code: 'lib/replication/apply-materialized.ts applyMaterialized -> attemptApply -> appendWithState',
    calls: (c) => [
      getItem('state', c.stateBytes, { count: 1 - c.cacheHitRate }),
      transact([...eventPuts({ ...c, eventsPerWrite: 1 }), { table: 'state', bytes: c.stateBytes }]),
      watermarkUpdate(),
    ],
  },
  'apply.heartbeat': {
    description: "a peer's heartbeat: its watermark advanced",
    code: 'lib/replication/applier.ts applyHeartbeat',
    calls: () => [watermarkUpdate()],
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;

/** Totals of one operation: requests, items, units, index units and stream records. */
export function operationTotals(id: OperationId, context: OperationContext, regions: number) {
  let requests = 0;
  let items = 0;
  let readUnits = 0;
  let writeUnits = 0;
  for (const c of OPERATIONS[id].calls(context)) {
    const n = c.count * (c.place === 'everyRegion' ? regions : 1);
    requests += n;
    items += n * c.items;
    readUnits += n * c.readUnits;
    writeUnits += n * (c.writeUnits + c.indexWriteUnits);
  }
  return { requests, items, readUnits, writeUnits };
}
