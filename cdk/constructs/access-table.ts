import type { Topology } from '../../lib/config/index.ts';
import type { TableKind } from '../../lib/store/tables.ts';
import type { FunctionName } from './function-defaults.ts';

/**
 * What each function of a cell may do to tables and buses, one row per access pattern of the code. The
 * grants (`grants.ts`) and the buses' resource policies (`bus-policy.ts`) are both derived from this
 * table, so a new access pattern is one new row, and a pattern the code drops is one row deleted. The
 * sandbox enforces the synthesized result on every call (lib/sandbox/iam), so a missing row fails there
 * with AccessDeniedException exactly as it would in AWS.
 */

/** DynamoDB actions by what the code does with them (transactions are authorized per item). */
export const TABLE_OPS = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  /** Query on the table's secondary indexes (`<table>/index/<name>`). */
  queryIndex: ['dynamodb:Query'],
  /** Scan of the table's secondary indexes (a keys-only index is small). */
  scanIndex: ['dynamodb:Scan'],
  put: ['dynamodb:PutItem'],
  update: ['dynamodb:UpdateItem'],
  /** ConditionCheck items in a transaction (fencing guards). */
  guard: ['dynamodb:ConditionCheckItem'],
  delete: ['dynamodb:DeleteItem'],
  scan: ['dynamodb:Scan'],
} as const;
export type TableOp = keyof typeof TABLE_OPS;

/** Whose copy: this region's, every peer's, or every region's (the same table name everywhere). */
export type Where = 'local' | 'peers' | 'all';

export interface TableAccess {
  readonly tables: readonly TableKind[];
  readonly in: Where;
  readonly ops: readonly TableOp[];
  /** The code that needs it (kept next to the grant so a reviewer can check it). */
  readonly why: string;
  /** Only for topologies that use the code path (default: always). */
  readonly when?: (topology: Topology) => boolean;
}

/** `core.ack: 'quorum'`: core events are copied into a peer's events table before the client's 200. */
const quorumAck = (topology: Topology) => topology.core.ack === 'quorum';

export interface BusAccess {
  /** Whose replication bus the function puts events on. */
  readonly in: Where;
  readonly why: string;
}

export interface FunctionAccess {
  readonly tables: readonly TableAccess[];
  readonly buses: readonly BusAccess[];
}

export const FUNCTION_ACCESS: Readonly<Record<FunctionName, FunctionAccess>> = {
  api: {
    tables: [
      {
        tables: ['events'],
        in: 'local',
        ops: ['read', 'put'],
        why: 'appends (conditional puts, never updates or deletes: the log is append-only) and reads events',
      },
      {
        tables: ['state'],
        in: 'local',
        ops: ['read', 'put'],
        why: 'projection rows written with each append',
      },
      {
        tables: ['idempotency'],
        in: 'local',
        ops: ['read', 'put', 'update', 'delete'],
        why: 'Powertools idempotency records (a failed command deletes its in-progress record)',
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put', 'guard'],
        why: 'quorum register over every region (claims, write-backs) and the fencing guard in each append',
      },
      {
        tables: ['replication', 'quarantine'],
        in: 'local',
        ops: ['read'],
        why: 'watermarks, lag, conflicts and quarantine counts for read-your-writes, degrade, /health',
      },
      {
        tables: ['events'],
        in: 'peers',
        ops: ['read', 'put'],
        when: quorumAck,
        why: "core.ack quorum: a conditional put of the event into the nearest peer's log (read back on a retry)",
      },
    ],
    buses: [],
  },
  publisher: {
    tables: [],
    buses: [{ in: 'local', why: 'local-origin events from the stream onto the local bus' }],
  },
  applier: {
    tables: [
      {
        tables: ['events', 'state'],
        in: 'local',
        ops: ['read', 'put', 'guard'],
        why: 'idempotent apply of replicated events (a core event is appended with a check that its slot is free)',
      },
      {
        tables: ['replication'],
        in: 'local',
        ops: ['read', 'put', 'update', 'delete', 'guard'],
        why: 'watermarks (update), parked core events (put, delete once applied), conflict records (guarded)',
      },
      {
        tables: ['quarantine'],
        in: 'local',
        ops: ['read', 'put', 'update'],
        why: 'poison events and their counter',
      },
      { tables: ['control'], in: 'local', ops: ['read'], why: 'partition epochs when applying core events' },
      { tables: ['events'], in: 'peers', ops: ['read'], why: "core gap fetch from the origin region's log" },
    ],
    buses: [{ in: 'local', why: 'ConflictDetected notifications' }],
  },
  'lag-monitor': {
    tables: [
      { tables: ['events'], in: 'local', ops: ['put'], why: 'heartbeats through the pipeline' },
      { tables: ['replication'], in: 'local', ops: ['read'], why: 'watermarks for the lag metric' },
    ],
    buses: [],
  },
  runbook: {
    tables: [
      {
        tables: ['events'],
        in: 'all',
        ops: ['read', 'queryIndex', 'scanIndex'],
        why: 'Merkle leaves and events by partition (byPartition index; Repair lists partitions by scanning it)',
      },
      {
        tables: ['events'],
        in: 'all',
        ops: ['put', 'delete'],
        why: "Failback's core-orphan queueing rewrites the returning region's log from the fork to the home's",
      },
      {
        tables: ['state'],
        in: 'all',
        ops: ['read', 'put'],
        why: "Switchover verify compares rows across regions; the core-orphan rewrite puts the home's row",
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['read', 'put', 'update'],
        why: 'watermarks, and conflict records opened in every region (core orphans, resolutions)',
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put', 'guard', 'scan'],
        why: 'quorum register; Failover scans every control table for the lost region partitions',
      },
    ],
    buses: [
      {
        in: 'all',
        why: "Repair replay and Failback catch-up go through the receiving region's bus to its applier",
      },
    ],
  },
};
