/**
 * What each operation of the platform costs in DynamoDB requests, read from the code that performs it.
 * This is the one place the model learns request counts from: when the code changes (a new read, a
 * transaction that grows), change the operation here; the sandbox comparison
 * (`test/e2e/cost-model.test.ts`) fails until you do.
 *
 * Units follow DynamoDB's billing: a standard write is 1 write unit per KB, a transactional one 2 per KB
 * and per member (ConditionCheck members included); a strongly consistent read 1 read unit per 4 KB, an
 * eventually consistent one (an index) half that; an index write 1 unit per KB of the projected item (the
 * events' byPartition index and the state table's byDue index, which holds the rows of sagas in progress,
 * project every attribute).
 */
import type { TableKind } from '../store/tables.ts';
import type { FunctionName } from './runtime.ts';

/** Where a request lands, seen from the region running the operation. */
export type Place =
  /** this region's table */
  | 'self'
  /** one request to every other region's table (quorum-ack copies) */
  | 'eachPeer'
  /** one request to every region's table, this one included (majority reads of the control state) */
  | 'everyRegion';

export type DynamoAction =
  | 'GetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchGetItem'
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
  /** Write units on the events table's byPartition index and the state table's byDue index. */
  readonly indexWriteUnits: number;
  /** A transaction's write units per table (its members may span tables); absent: all on `table`. */
  readonly writeUnitsByTable?: Readonly<Partial<Record<TableKind, number>>>;
  /** A partition key every such request hits: per-key throughput binds there. */
  readonly hotKey?: string;
  /** Bytes on the wire (request + response), for the data that crosses regions. */
  readonly bytes: number;
}

/** Sizes and shares an operation's requests depend on. */
export interface OperationContext {
  readonly eventsPerWrite: number;
  /** Stored size of one event item (envelope + keys). */
  readonly eventBytes: number;
  /** Stored size of one projection row. */
  readonly stateBytes: number;
  /** Share of applied events whose row the applier instance has cached (StateRecordCache). */
  readonly cacheHitRate: number;
  /** The rows are a saga's: each write of one in progress is also written to the byDue index. */
  readonly dueIndexed?: boolean;
  /** A saga's participants, and the size of their rows (the begin's dry run reads them). */
  readonly participants?: number;
  readonly participantStateBytes?: number;
  /** Saga types the sweep lists (one Query each). */
  readonly sagaTypes?: number;
  /** The ordinary lane: records per batch, and the origins a batch holds events of (its watermark writes). */
  readonly laneBatch?: number;
  readonly laneOrigins?: number;
}

/** Sizes of the platform's own items, measured on DynamoDB Local items of the example application. */
export const ITEM_BYTES = {
  /** A partition-map or traffic-state register entry (`control` table). */
  control: 250,
  /** The watermark rows of three origins (`replication` table, pk WATERMARK). */
  watermarks: 450,
  /** The heartbeat row (`events` table, overwritten every tick; no index key). */
  heartbeat: 450,
  /** A marker (core marker, quorum marker, observation, counter). */
  marker: 120,
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

/** A single-item write (PutItem or UpdateItem) of `bytes`. */
const put = (
  action: 'PutItem' | 'UpdateItem',
  table: TableKind,
  bytes: number,
  extra: Partial<DynamoCall> = {},
) => call(action, table, { writeUnits: wu(bytes), bytes: bytes * ITEM_BYTES.wireOverhead + 150, ...extra });

/** A member of a TransactWriteItems: 2 write units per KB (a ConditionCheck: of the item checked). */
interface Member {
  readonly table: TableKind;
  readonly bytes: number;
  /** An event Put, or a saga's row: also an index write. */
  readonly event?: boolean;
}

/** A row write (its index write when it is a saga's). */
const row = (c: OperationContext): Member => ({
  table: 'state',
  bytes: c.stateBytes,
  ...(c.dueIndexed ? { event: true } : {}),
});
const rowPut = (c: OperationContext) =>
  put('PutItem', 'state', c.stateBytes, c.dueIndexed ? { indexWriteUnits: wu(c.stateBytes) } : {});

/** TransactWriteItems takes at most 100 items. */
const TRANSACTION_ITEMS = 100;

function transact(members: readonly Member[], extra: Partial<DynamoCall> = {}): DynamoCall {
  const byTable: Partial<Record<TableKind, number>> = {};
  for (const m of members) byTable[m.table] = (byTable[m.table] ?? 0) + 2 * wu(m.bytes);
  return call('TransactWriteItems', members[0]!.table, {
    items: members.length,
    writeUnits: members.reduce((total, m) => total + 2 * wu(m.bytes), 0),
    writeUnitsByTable: byTable,
    indexWriteUnits: members.filter((m) => m.event).reduce((total, m) => total + wu(m.bytes), 0),
    bytes: members.reduce((total, m) => total + m.bytes * ITEM_BYTES.wireOverhead, 200),
    ...extra,
  });
}

const eventPuts = (c: OperationContext, count = Math.max(1, Math.round(c.eventsPerWrite))): Member[] =>
  Array.from({ length: count }, () => ({ table: 'events' as const, bytes: c.eventBytes, event: true }));
const check = (table: TableKind, bytes: number = ITEM_BYTES.marker): Member => ({ table, bytes });
const marker: Member = { table: 'replication', bytes: ITEM_BYTES.marker };

/** The watermark rows: one strongly consistent Query of pk WATERMARK. */
const watermarkQuery = () => query('replication', ITEM_BYTES.watermarks);

/** A core command at its home (executeCommand): row, catch-up query, guarded events and marker, row. */
const coreCommand = (c: OperationContext) => [
  getItem('state', c.stateBytes),
  query('events', 0),
  transact([...eventPuts(c), check('control'), marker]),
  rowPut(c),
];

/** core.ack quorum: one copy transaction per peer (events, predecessor and seal checks, markers). */
const coreCopy = (c: OperationContext) => [
  transact([...eventPuts(c), check('events', c.eventBytes), check('control'), marker, marker], {
    place: 'eachPeer',
  }),
];

/** A partition's entry read from a majority, then its local copy settled. */
const leaseRefresh = () => [
  getItem('control', ITEM_BYTES.control, { place: 'everyRegion' }),
  put('PutItem', 'control', ITEM_BYTES.control),
];

/** An operation: the function that runs it, what it is, where in the code, and its requests. */
export interface Operation {
  readonly fn: FunctionName;
  readonly description: string;
  readonly code: string;
  calls(context: OperationContext): DynamoCall[];
}

/**
 * Every operation of the data plane and of the background work, with its DynamoDB requests.
 * @example OPERATIONS['command.core'].calls(context).length // 4
 */
export const OPERATIONS = {
  'command.core': {
    fn: 'api',
    description:
      'a core command at its home: row, catch-up query, the events with the fence guard and core marker, row',
    code: 'lib/commands/execute.ts executeCommand (currentRecord, catchUpCoreRow, appendDecided)',
    calls: (c) => coreCommand(c),
  },
  'command.core.copy': {
    fn: 'api',
    description:
      "core.ack quorum: the events copied into every peer's log with the predecessor and seal checks and the markers",
    code: 'lib/commands/quorum-ack.ts quorumReplicator -> quorum-peer-dynamodb.ts copyItems',
    calls: (c) => coreCopy(c),
  },
  'command.materialized': {
    fn: 'api',
    description:
      'an important or ordinary command: row, then the events and the guarded row in one transaction',
    code: 'lib/commands/execute.ts executeCommand (non-core branch of appendDecided)',
    calls: (c) => [
      getItem('state', c.stateBytes),
      transact([...eventPuts(c), { table: 'state', bytes: c.stateBytes }]),
    ],
  },
  'command.idempotent': {
    fn: 'api',
    description: 'Powertools idempotency around a keyed command (every forwarded core write is keyed)',
    code: 'lib/api/commands.ts createCommandRunner (DynamoDBPersistenceLayer: put in progress, then update)',
    calls: (c) => [
      put('PutItem', 'idempotency', ITEM_BYTES.idempotencyBase),
      put('UpdateItem', 'idempotency', ITEM_BYTES.idempotencyBase + c.stateBytes),
    ],
  },
  'lease.refresh': {
    fn: 'api',
    description:
      "a partition's entry read from a majority (every replica asked), then its local copy settled",
    code: 'lib/ownership/ownership.ts refresh (PartitionMap.read, settleLocalCopy)',
    calls: () => leaseRefresh(),
  },
  'sync.refresh': {
    fn: 'api',
    description:
      "the sync breakers' lag of every peer: the watermark rows, at most once a second per instance",
    code: 'lib/resilience/sync-breaker.ts refresh -> ReplicationWatermarks.lagMs -> WatermarkStore.list',
    calls: () => [watermarkQuery()],
  },
  'read.local': {
    fn: 'api',
    description: 'GET /v1/{type}/{id}: the projection row',
    code: 'lib/api/app.ts getAggregate',
    calls: (c) => [getItem('state', c.stateBytes)],
  },
  'read.core': {
    fn: 'api',
    description:
      'GET /v1/{type}/{id} of a core aggregate: the row, caught up with its log (the log beyond it, nothing normally)',
    code: 'lib/api/app.ts getAggregate -> lib/commands/execute.ts readRecord (catchUpCoreRow)',
    calls: (c) => [getItem('state', c.stateBytes), query('events', 0)],
  },
  'read.token': {
    fn: 'api',
    description: "a token naming another region: the origin's watermark, then the row's head",
    code: 'lib/routing/read-your-writes.ts covers',
    calls: (c) => [watermarkQuery(), getItem('state', c.stateBytes)],
  },
  'health.request': {
    fn: 'health',
    description: 'GET /health: replication status (watermark rows, quarantine counter, open conflicts)',
    code: 'lib/replication/status.ts replicationStatus',
    calls: () => [watermarkQuery(), getItem('quarantine', ITEM_BYTES.marker), query('replication', 0)],
  },
  'health.probe': {
    fn: 'health',
    description: "the verdict's probe write to the region's control table (a verdict is reused for a second)",
    code: 'lib/api/health-probe.ts dynamoHealthProbe; lib/api/health.ts RegionHealthMonitor',
    calls: () => [put('UpdateItem', 'control', ITEM_BYTES.marker)],
  },
  'health.sync': {
    fn: 'health',
    description: "the health function's own sync breakers (the report's breaker section)",
    code: 'lib/api/health-route.ts breakerDetails',
    calls: () => [watermarkQuery()],
  },
  'health.traffic': {
    fn: 'health',
    description: "the region's drained/active register read from a majority, cached 5 s per instance",
    code: 'lib/resilience/traffic-breaker.ts TrafficBreaker.traffic',
    calls: () => [getItem('control', ITEM_BYTES.control, { place: 'everyRegion' })],
  },
  'heartbeat.tick': {
    fn: 'lag-monitor',
    description: 'one lag-monitor tick: the publish holds, the heartbeat row, then the watermark rows',
    code: 'lib/replication/lag-monitor.ts runLagMonitorTick',
    calls: () => [query('replication', 0), put('PutItem', 'events', ITEM_BYTES.heartbeat), watermarkQuery()],
  },
  'watchdog.peer': {
    fn: 'watchdog',
    description:
      "one watchdog tick's work per peer: the peer's heartbeat age (watermark rows) and the observation",
    code: 'lib/detection/watchdog.ts watch; observations.ts publish',
    calls: () => [watermarkQuery(), put('PutItem', 'control', ITEM_BYTES.marker)],
  },
  'publish.batch': {
    fn: 'publisher',
    description: 'a stream batch with local events: the publish holds read to release the published ones',
    code: 'lib/replication/publisher.ts publishStreamRecords -> PublishHolds.release',
    calls: () => [query('replication', 0)],
  },
  'publish.homeRow': {
    fn: 'publisher',
    description:
      "a core aggregate in a stream batch: its home row read, to catch it up with the log when an append's answer timed out (a Query and a Put then, rare)",
    code: 'lib/replication/home-rows.ts homeRowCatchUp',
    calls: (c) => [getItem('state', c.stateBytes)],
  },
  'apply.core': {
    fn: 'applier',
    description:
      'a replicated core event in order: (row unless cached) then event, row, not-parked, next-slot and Failover-cut checks, marker in one transaction; the watermark',
    code: 'lib/replication/apply-core.ts applyCore -> appendInOrder; applier.ts advance',
    calls: (c) => [
      getItem('state', c.stateBytes, { count: 1 - c.cacheHitRate }),
      transact([...eventPuts(c, 1), row(c), check('replication'), check('events'), check('control'), marker]),
      put('UpdateItem', 'replication', ITEM_BYTES.marker, { hotKey: 'replication/WATERMARK' }),
    ],
  },
  'apply.core.afterCopy': {
    fn: 'applier',
    description:
      'a replicated core event its quorum-ack copy stored first: the in-order attempts fail on the taken slot, the row catches up from the log, the event is found stored (duplicate: no watermark advance)',
    code: 'lib/replication/apply-core.ts applyCore -> appendInOrder (refused) -> applyInAnyOrder (appendAtSeq, catchUpCoreRow, storedAt)',
    calls: (c) => [
      transact(
        [...eventPuts(c, 1), row(c), check('replication'), check('events'), check('control'), marker],
        {
          count: 1 + c.cacheHitRate,
          indexWriteUnits: 0,
        },
      ),
      getItem('state', c.stateBytes, { count: 2 }),
      transact([...eventPuts(c, 1), check('control'), marker], { indexWriteUnits: 0 }),
      query('events', c.eventBytes, { count: 2 }),
      // The catch-up's row put, checked against the log's newest folded event.
      transact([row(c), check('events')]),
    ],
  },
  'apply.materialized': {
    fn: 'applier',
    description:
      'a replicated important/ordinary event folding on top: (row unless cached) then event and guarded row; the watermark',
    code: 'lib/replication/apply-materialized.ts applyMaterialized -> attemptApply; applier.ts advance',
    calls: (c) => [
      getItem('state', c.stateBytes, { count: 1 - c.cacheHitRate }),
      transact([...eventPuts(c, 1), { table: 'state', bytes: c.stateBytes }]),
      put('UpdateItem', 'replication', ITEM_BYTES.marker, { hotKey: 'replication/WATERMARK' }),
    ],
  },
  'apply.lane': {
    fn: 'applier',
    description:
      "an ordinary event in a lane batch: its share of the batch's BatchGetItem of the rows and of its watermark writes (one per origin), and its share of a packed transaction (the batch's single-run aggregates share TransactWriteItems of up to 100 items: an event and its row, at most 50 events each)",
    code: 'lib/replication/apply-batch.ts applyBatch (getStates, packed commits, writeGroup, commitWatermarks)',
    calls: (c) => {
      const batch = Math.max(1, c.laneBatch ?? 1);
      // An event and its row per aggregate at most (an aggregate with several events in the batch shares one
      // row): up to 50 events a transaction, the batch's events at most; its write units are the events'.
      const perEvent: Member[] = [...eventPuts(c, 1), { table: 'state', bytes: c.stateBytes }];
      const packed = Math.max(1, Math.min(batch, Math.floor(TRANSACTION_ITEMS / perEvent.length)));
      return [
        call('BatchGetItem', 'state', {
          count: 1 / batch,
          items: batch,
          readUnits: ru(c.stateBytes) * batch,
          bytes: (c.stateBytes * ITEM_BYTES.wireOverhead + 100) * batch,
        }),
        transact(Array.from({ length: packed }, () => perEvent).flat(), { count: 1 / packed }),
        put('UpdateItem', 'replication', ITEM_BYTES.marker, {
          count: Math.min(batch, c.laneOrigins ?? 1) / batch,
          hotKey: 'replication/WATERMARK',
        }),
      ];
    },
  },
  'apply.heartbeat': {
    fn: 'applier',
    description: "a peer's heartbeat: what it has not published (hold row), then its watermark",
    code: 'lib/replication/applier.ts applyHeartbeat (WatermarkStore.hold, advance)',
    calls: () => [
      put('UpdateItem', 'replication', ITEM_BYTES.marker, { hotKey: 'replication/WATERMARK' }),
      put('UpdateItem', 'replication', ITEM_BYTES.marker, { hotKey: 'replication/WATERMARK' }),
    ],
  },
  'apply.sweep': {
    fn: 'applier',
    description: 'the idle path: parked core events swept once per heartbeat interval',
    code: 'lib/replication/applier.ts sweepIfDue -> sweeper.ts sweepParked',
    calls: () => [query('replication', 0)],
  },
  'saga.begin': {
    fn: 'api',
    description:
      "a saga's begin at its home before its BeginSaga write (command.core): the saga's row and log, each participant's local row for the dry run",
    code: 'lib/sagas/begin.ts beginSaga (sagaStateHere, precheck)',
    calls: (c) => [
      getItem('state', c.stateBytes),
      query('events', 0),
      getItem('state', c.participantStateBytes ?? c.stateBytes, { count: c.participants ?? 1 }),
    ],
  },
  'saga.load': {
    fn: 'saga',
    description: 'a Saga machine task loads the saga: its row, caught up with its log',
    code: 'lib/sagas/coordinator.ts load -> routed-port.ts read (readHere: getState, catchUpCoreRow)',
    calls: (c) => [getItem('state', c.stateBytes), query('events', 0)],
  },
  'saga.write': {
    fn: 'saga',
    description:
      "a core write the saga function makes at the saga's home: a participant's Try or Confirm, or the saga's own record (as command.core)",
    code: 'lib/sagas/routed-port.ts runHere -> lib/commands/execute.ts executeCommand',
    calls: (c) => coreCommand(c),
  },
  'saga.write.copy': {
    fn: 'saga',
    description: "core.ack quorum: the saga function's core writes copied into every peer's log",
    code: 'lib/commands/quorum-ack.ts quorumReplicator (the saga function runs executeCommand)',
    calls: (c) => coreCopy(c),
  },
  'saga.lease.refresh': {
    fn: 'saga',
    description: "the saga function's own partition leases (fence and route), as lease.refresh",
    code: 'lib/ownership/ownership.ts refresh (the saga function has its own PartitionOwnership)',
    calls: () => leaseRefresh(),
  },
  'saga.sweep': {
    fn: 'saga',
    description:
      'the recovery sweep with nothing overdue: one Query of the byDue index per saga type (eventually consistent)',
    code: 'lib/sagas/sweep.ts sweepSagas -> due-index.ts DynamoDueSagaSource.overdue',
    calls: (c) => [query('state', 0, { readUnits: 0.5, count: c.sagaTypes ?? 1 })],
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;
