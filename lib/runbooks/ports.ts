import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HybridLogicalClock } from '../clock/clock.ts';
import type { BranchRetirer } from '../commands/quorum-peer.ts';
import type { Topology } from '../config/schema.ts';
import type { ConflictRecordPort } from '../conflict/record-store.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import type { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import type { PartitionMap } from '../ownership/partition-map.ts';
import type { QuorumRegister } from '../ownership/quorum-register.ts';
import type { PartitionEventSource } from '../repair/partition-source.ts';
import type { Watermark } from '../replication/watermarks.ts';
import type { TrafficState } from '../resilience/traffic-breaker.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateStore } from '../store/state-store.ts';

/** What one region looks like to the runbooks (its own tables, or a peer's reached across regions). */
export interface RegionCell {
  readonly region: string;
  /** Its events by partition (Merkle leaves and full events). */
  readonly source: PartitionEventSource;
  /** Replays events into it through its applier (idempotent; conflicts take the normal path). */
  replay(events: readonly EventEnvelope[]): Promise<void>;
  /** Newest HLC it applied from each origin. */
  watermarks(): Promise<readonly Watermark[]>;
  readonly events: EventStore;
  readonly states: StateStore;
  /** Its snapshots of core aggregates: a row rebuilt from a log whose head was archived starts from one. */
  readonly snapshots?: SnapshotStore;
  /**
   * Its archive (lib/lifecycle): the payloads of its log's archived stubs, which a retire or a row rebuild
   * folds when no snapshot it keeps covers them. Absent: such a fold is refused (HistoryIncompleteError).
   */
  readonly archive?: ArchiveStore;
  readonly conflicts: ConflictRecordPort;
  /** Raw table access for the one repair that rewrites a log (a core orphan set aside at failback). */
  readonly tables: {
    readonly client: DynamoDBDocumentClient;
    readonly events: string;
    readonly state: string;
    readonly replication: string;
    readonly control: string;
  };
}

/** What one region answers when asked whether it can still see another. */
export interface RegionObservation {
  /**
   * The target serves, or is deliberately drained (503 `drained`: alive). A region that does not answer,
   * or answers that it cannot write (503 `unwritable`, a gray failure), is not reachable.
   */
  readonly reachable: boolean;
  /** Age of the newest heartbeat or event the observer applied from the target; null when none. */
  readonly heartbeatAgeMs: number | null;
}

/** Everything the runbook tasks of one region need; built by the Lambda handler or the sandbox. */
export interface RunbookDeps {
  /** The region the runbook runs in. */
  readonly region: string;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  /** The quorum partition map (and its register, for traffic and failover records). */
  readonly map: PartitionMap;
  readonly register: QuorumRegister;
  /** A region's cell by name; throws for an unknown region. */
  cell(region: string): RegionCell;
  /** `observer`'s view of `target` (health probe + heartbeat age); rejects when `observer` cannot answer. */
  observe(observer: string, target: string): Promise<RegionObservation>;
  /** Drains or restores a region at the GTM (quorum traffic state, and whatever the GTM reads). */
  setTraffic(region: string, state: TrafficState, reason: string): Promise<void>;
  /** A heartbeat older than this counts as silence when confirming a loss (default 3 heartbeat intervals). */
  readonly staleHeartbeatMs?: number;
  /** Partitions at once in loops over the map (default 16). */
  readonly concurrency?: number;
  readonly now?: () => number;
  /** The region's clock for events a runbook appends (a conflict resolution); a fresh one when absent. */
  readonly clock?: HybridLogicalClock;
  /**
   * The chain module's branch retirer for a region (moves a losing branch of a core log into its manual
   * conflict queue). Absent: a region holding such a branch is left as it is and reported, never deleted.
   */
  readonly retireBranch?: (cell: RegionCell) => BranchRetirer;
  /**
   * Bound on each call Repair's hold release makes to a region (the runbook's clients carry no request
   * timeout): a region silent longer keeps its holds and is reported. Default 5 s (HOLD_CALL_TIMEOUT_MS).
   */
  readonly holdCallTimeoutMs?: number;
  /**
   * Switchover's CheckWatermark polls inside one task: every `intervalMs` until the target holds the
   * source's head or `budgetMs` has passed (default 100 ms / 2 s; the machine's Wait runs between tasks).
   */
  readonly watermarkPoll?: { readonly intervalMs: number; readonly budgetMs: number };
  /**
   * Switchover's direct delivery in CheckWatermark, bounded so that one task ends well inside its 60 s
   * timeout whatever the backlog: at most `perCheck` events per partition per poll (a prefix of the head's
   * lacking events, each aggregate's in log order), and none started `windowMs` after the task began (the
   * machine polls again, and the replication pipeline keeps bringing the rest). Default DIRECT_DELIVERY.
   */
  readonly directDelivery?: { readonly perCheck: number; readonly windowMs: number };
  /**
   * Switchover's Fence starts no compare-and-set later than `budgetMs` after its invocation started (below
   * the Fence task's timeout: Step Functions stops waiting, it does not stop the function), and a Rollback
   * run without the Fence's result waits `budgetMs + settleMs` (+ the map's skew margin) from its own start
   * before it reads the partitions: every fence of its run has committed or failed by then (`settleMs`
   * covers a compare-and-set started just before the deadline). Default FENCE_WINDOW (45 s / 5 s).
   */
  readonly fenceWindow?: { readonly budgetMs: number; readonly settleMs: number };
}

/** A task: the whole execution state in, a JSON object out (kept at `$.<task>`). */
export type RunbookTask = (input: Record<string, unknown>) => Promise<Record<string, unknown>>;
