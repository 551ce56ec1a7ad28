import type { Topology } from '../../lib/config/index.ts';
import type { TableKind } from '../../lib/store/tables.ts';
import type { MachineName } from '../naming.ts';
import type { FunctionName } from './function-defaults.ts';
import { READINESS_SERVICES } from './readiness-access.ts';

/**
 * What each function of a cell may do to tables, buses and state machines, one row per access pattern of
 * the code. The
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
  /** BatchWriteItem (IAM checks the batch action, whatever puts or deletes it carries). */
  batchWrite: ['dynamodb:BatchWriteItem'],
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

/** A state machine of this region that the function starts (a runbook, or the Saga machine). */
export interface MachineAccess {
  readonly machine: MachineName;
  readonly why: string;
}

/** Calls to other AWS services (read-only APIs): the actions and the ARNs they may name. */
export interface ServiceAccess {
  readonly actions: readonly string[];
  /** ARNs for this topology, seen from the function's region; `*` only for actions with no resource type. */
  readonly resources: (topology: Topology, region: string) => readonly string[];
  readonly why: string;
  /** Why an ARN ends in `*` (cdk-nag IAM5): the part of the name only known once deployed. */
  readonly wildcard?: string;
}

export interface FunctionAccess {
  readonly tables: readonly TableAccess[];
  readonly buses: readonly BusAccess[];
  /** StartExecution on this region's state machines. */
  readonly machines?: readonly MachineAccess[];
  /** GetSecretValue on this region's replica of the environment's internal key (`why`). */
  readonly internalKey?: string;
  readonly services?: readonly ServiceAccess[];
}

export const FUNCTION_ACCESS: Readonly<Record<FunctionName, FunctionAccess>> = {
  api: {
    tables: [
      {
        tables: ['events'],
        in: 'local',
        ops: ['read', 'put', 'guard'],
        why: 'appends (conditional puts, never updates or deletes: the log is append-only) and reads events; a row caught up with the log only while the log still holds the folded events (a check)',
      },
      {
        tables: ['state'],
        in: 'local',
        ops: ['read', 'put'],
        why: 'projection rows written with each append',
      },
      {
        tables: ['snapshots'],
        in: 'local',
        ops: ['read', 'put', 'delete'],
        why: "a core aggregate's snapshot every lifecycle.snapshotEvery events, written by its home (older than the newest three deleted)",
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
        tables: ['replication'],
        in: 'local',
        ops: ['put'],
        why:
          'the core marker (CORE#<partition>, lib/store/core-markers.ts) put in the transaction of every core ' +
          "append, which Switchover's CheckWatermark and Rollback read consistently",
      },
      {
        tables: ['events'],
        in: 'peers',
        ops: ['read', 'put', 'guard'],
        when: quorumAck,
        why:
          "core.ack quorum: the run copied into a peer's log only on top of the writer's predecessor (a check of " +
          "its slot) in one transaction with the seal check of the peer's partition entry (control, above); " +
          "a lagging peer's log read back",
      },
      {
        tables: ['replication'],
        in: 'peers',
        ops: ['put'],
        when: quorumAck,
        why:
          "core.ack quorum: the copy's marker in the peer's replication table, which Failover's CollectCopies " +
          "reads, and the conflict records of a branch the copy retires there (quorumPeerRetirer; this region's " +
          'own records: the local replication put above)',
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['delete'],
        when: quorumAck,
        why:
          "core.ack quorum: a peer's branch retire refused by the seal, or failing after it queued, withdraws the " +
          'open conflict records it created for events still logged (the record and its open-index item, while ' +
          'still open: an operator never sees a record of an event that stayed)',
      },
      {
        tables: ['replication'],
        in: 'peers',
        ops: ['read'],
        when: quorumAck,
        why:
          "core.ack quorum: a peer's branch retire first lists the aggregate's core-branch records in every " +
          "region's queue (a Query on its conflict-record key), to requeue the ones already held (this region's: " +
          'the local read above)',
      },
      {
        tables: ['events'],
        in: 'peers',
        ops: ['delete'],
        when: quorumAck,
        why:
          "core.ack quorum: a peer's branch of epochs before the writer's (a lost home's unacknowledged write the " +
          "bus delivered after the Failover's collection) leaves the peer's log by retireCoreBranch, once queued, " +
          'each delete conditioned on the slot still holding that event, in one transaction with the check that ' +
          "the slot above is free (guard, above) and the peer's row put (below)",
      },
      {
        tables: ['state'],
        in: 'peers',
        ops: ['read', 'put'],
        when: quorumAck,
        why: "core.ack quorum: after such a retire the peer's row is rebuilt from its log (a put guarded on the row it replaces)",
      },
      {
        tables: ['snapshots'],
        in: 'peers',
        ops: ['read'],
        when: quorumAck,
        why: "core.ack quorum: a retire over a peer's archived log folds the peer's row from its snapshots at or above the stubs (quorumPeerRetirer)",
      },
    ],
    buses: [],
    machines: [
      { machine: 'Saga', why: 'POST /v1/transfers begins a transfer at its home and starts its execution' },
    ],
    internalKey:
      "peer tokens: signs the writes it forwards and the reads it sends back to source, checks peers'",
  },
  health: {
    tables: [
      {
        tables: ['control'],
        in: 'local',
        ops: ['update'],
        why: 'the store probe: /health fails when the region cannot write (gray failure), not only when down',
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put'],
        why: "the region's traffic state (drained or active) from the quorum register, which may write back",
      },
      {
        tables: ['replication', 'quarantine'],
        in: 'local',
        ops: ['read'],
        why: 'lag per origin, open conflicts and quarantine counts in the /health body',
      },
    ],
    buses: [],
  },
  publisher: {
    tables: [
      {
        tables: ['replication'],
        in: 'local',
        ops: ['read', 'put', 'batchWrite'],
        why: 'publish holds: events it failed to publish (put), listed oldest first, released in batches once published',
      },
      {
        tables: ['events'],
        in: 'local',
        ops: ['read', 'guard'],
        why: "the home's core rows caught up with its log (an append that landed after its answer timed out left its row behind), only while the log still holds the folded events",
      },
      {
        tables: ['state'],
        in: 'local',
        ops: ['read', 'put'],
        why: "the home's core rows caught up with its log",
      },
    ],
    buses: [{ in: 'local', why: 'local-origin events from the stream onto the local bus' }],
    internalKey: 'signs every replication event it publishes',
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
        why:
          'watermarks (update), parked core events and their index (put, delete once applied), conflict ' +
          'records (guarded; a resolved one leaves the open index) and lww audit records',
      },
      {
        tables: ['quarantine'],
        in: 'local',
        ops: ['read', 'put', 'update'],
        why: 'poison events and their counter',
      },
      {
        tables: ['control'],
        in: 'local',
        ops: ['read', 'guard'],
        why: "partition epochs when applying core events; a Failover's cut checked in each core append (under local ack the home lease's guard on the register copy in place of the cut)",
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put'],
        when: (topology) => !quorumAck(topology),
        why: "core.ack local: a cut event is taken as the home only on the home's lease, a majority read of the quorum register (which may write back and repairs the local copy)",
      },
      { tables: ['events'], in: 'peers', ops: ['read'], why: "core gap fetch from the origin region's log" },
    ],
    buses: [{ in: 'local', why: 'ConflictDetected notifications' }],
    internalKey: 'checks the signature of every replication event before applying it',
  },
  'lag-monitor': {
    tables: [
      { tables: ['events'], in: 'local', ops: ['put'], why: 'heartbeats through the pipeline' },
      {
        tables: ['replication'],
        in: 'local',
        ops: ['read'],
        why: 'watermarks for the lag metric; the oldest publish hold, which the heartbeat announces',
      },
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
        ops: ['put', 'delete', 'guard'],
        why:
          "Repair and Failback settle a forked core log in every region: the home's branch delivered, a losing " +
          "branch retired (deleted once queued); Failover's CollectCopies copies a run on top of its predecessor " +
          "(checked) into the new home's log",
      },
      {
        tables: ['state'],
        in: 'all',
        ops: ['read', 'put', 'guard'],
        why:
          "Switchover verify and Repair's row digests compare rows across regions; a settled or retired branch " +
          'rebuilds the row from its log (a put conditional on the row read); Repair delivers a lacking core ' +
          "event into a region's log guarded on the row as read (a ConditionCheck when it does not extend it)",
      },
      {
        tables: ['snapshots'],
        in: 'all',
        ops: ['read'],
        why: 'Repair rebuilds a core row from the newest snapshot its log confirms (a log whose head was archived)',
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['read', 'put', 'update'],
        why:
          'watermarks; conflict records opened in every region (retired core branches, orphans); quorum copy ' +
          'markers read by CollectCopies and written with the copies it makes',
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['scan'],
        why:
          "Repair's hold release finds the core-branch records, open or resolved, that carry a held event no open " +
          'record carries (a scan filtered on conflict records, only in that case)',
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['delete'],
        why:
          'ResolveConflict marks the records resolved where it runs, taking them out of the open index; ' +
          "settling a forked core log clears the events each region's applier parked for it",
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put', 'guard', 'scan'],
        why: "quorum register; Failover scans every control table for the lost region partitions and writes its cut of the lost home's history into each survivor's",
      },
    ],
    buses: [
      {
        in: 'all',
        why: "Repair replay and Failback catch-up go through the receiving region's bus to its applier",
      },
    ],
    internalKey: 'signs the events Repair and Failback replay (appliers refuse unsigned ones)',
  },
  watchdog: {
    tables: [
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put'],
        why:
          "its observations (put locally, read from every region's table) and the failover claim through the " +
          'quorum register; a region is read drained from the register too',
      },
      {
        tables: ['replication'],
        in: 'local',
        ops: ['read'],
        why: 'heartbeat silence per peer from the watermarks',
      },
    ],
    buses: [],
    machines: [
      {
        machine: 'Failover',
        why: "starts this region's Failover once it wins the claim on a region a majority suspects",
      },
    ],
  },
  readiness: {
    tables: [
      {
        tables: ['control'],
        in: 'all',
        ops: ['read'],
        why: "the partition map compared across every region's control table (the quorum answers, a majority agrees)",
      },
    ],
    buses: [],
    services: READINESS_SERVICES,
  },
  saga: {
    tables: [
      {
        tables: ['events', 'state'],
        in: 'local',
        ops: ['read', 'put'],
        why: "saga steps are core commands at this region's home (the transfer's log, holds, credits) with their rows",
      },
      {
        tables: ['events'],
        in: 'local',
        ops: ['guard'],
        why: 'a row caught up with its log only while the log still holds the folded events (a check)',
      },
      {
        tables: ['snapshots'],
        in: 'local',
        ops: ['read', 'put', 'delete'],
        why: "saga steps take the API's snapshots of the core aggregates they write (lifecycle.snapshotEvery)",
      },
      {
        tables: ['state'],
        in: 'local',
        ops: ['queryIndex'],
        why: 'the recovery sweep lists overdue sagas (byDue index)',
      },
      {
        tables: ['control'],
        in: 'all',
        ops: ['read', 'put', 'guard'],
        why: 'fencing of every step (quorum register reads, write-backs) and the guard in each append',
      },
      {
        tables: ['replication'],
        in: 'local',
        ops: ['put'],
        why: "the core marker put in the transaction of every core append (the API's row, for the same path)",
      },
      {
        tables: ['events'],
        in: 'peers',
        ops: ['read', 'put', 'guard'],
        when: quorumAck,
        why: "core.ack quorum: a step's events copied into a majority's logs before the task answers (as the API)",
      },
      {
        tables: ['replication'],
        in: 'peers',
        ops: ['put'],
        when: quorumAck,
        why: "core.ack quorum: the copy's marker in the peer's replication table, and the conflict records of a branch the copy retires there (as the API)",
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['delete'],
        when: quorumAck,
        why: 'core.ack quorum: a refused peer retire withdraws the open conflict records it created (as the API)',
      },
      {
        tables: ['replication'],
        in: 'all',
        ops: ['read'],
        when: quorumAck,
        why: "core.ack quorum: a peer retire lists the aggregate's core-branch records in every region's queue first (as the API)",
      },
      {
        tables: ['events'],
        in: 'peers',
        ops: ['delete'],
        when: quorumAck,
        why: "core.ack quorum: a step's copy retires a peer's branch of earlier epochs by retireCoreBranch, as the API's does",
      },
      {
        tables: ['state'],
        in: 'peers',
        ops: ['read', 'put'],
        when: quorumAck,
        why: "core.ack quorum: after such a retire the peer's row is rebuilt from its log (as the API)",
      },
      {
        tables: ['snapshots'],
        in: 'peers',
        ops: ['read'],
        when: quorumAck,
        why: "core.ack quorum: a peer retire over an archived log folds the peer's row from its snapshots (quorumPeerRetirer, as the API)",
      },
    ],
    buses: [],
    machines: [{ machine: 'Saga', why: 'the recovery sweep resumes overdue sagas with a new execution' }],
    internalKey: "peer tokens: signs the steps it forwards to an account's home and the reads it sends there",
  },
};

/**
 * The retention archiver (`functions/archiver`, only with a `lifecycle.retentionDays`): its own log and
 * snapshots, the state table's keys to find the aggregates, and every peer's watermarks and log, read
 * cross-region, so it never stubs an event some peer lacks. Its bucket's grants are in cell-archive.ts.
 */
export const ARCHIVER_ACCESS: FunctionAccess = {
  tables: [
    {
      tables: ['events'],
      in: 'local',
      ops: ['read', 'update'],
      why: "reads a core log and turns each archived event's item into its stub (a conditional UpdateItem: REMOVE payload, SET archived)",
    },
    {
      tables: ['snapshots'],
      in: 'local',
      ops: ['read'],
      why: 'the newest snapshot the log confirms: only events below it are archived',
    },
    {
      tables: ['state'],
      in: 'local',
      ops: ['scan'],
      why: 'a keys-only Scan of the state table finds every aggregate of a type with a retention (archiveSweep)',
    },
    {
      tables: ['control'],
      in: 'local',
      ops: ['read'],
      why: "its own copy of the partition map (GetItem, strongly): only a partition's home archives it, and not while the partition moves",
    },
    {
      tables: ['replication', 'events'],
      in: 'peers',
      ops: ['read'],
      why: "every peer's watermark from the event's origin (its replication table) and its log (its events table), read strongly: an event is archived only once every peer holds it",
    },
  ],
  buses: [],
};
