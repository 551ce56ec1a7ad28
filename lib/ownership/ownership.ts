import type { CoreWriteFence } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import { LeaseExpiredError, NotHomeError, PartitionFencedError, StaleEpochError } from './errors.ts';
import { localFenceGuard } from './fence-guard.ts';
import {
  type PartitionEntry,
  type PartitionMap,
  type PartitionValue,
  partitionKey,
} from './partition-map.ts';
import type { ControlReplica } from './replica.ts';

/**
 * Shortest interval between two majority re-reads of a partition whose cached entry names this region
 * the home but not writable yet (fenced, or before activeFrom): see PartitionOwnership.rereadDue.
 */
const WAITING_REREAD_MS = 200;

export interface PartitionOwnershipOptions {
  readonly region: string;
  readonly map: PartitionMap;
  /** This region's replica of the control state; repaired after every lease read. */
  readonly local: ControlReplica;
  /** This region's control table, for the ConditionCheck every core append carries. */
  readonly controlTable: string | (() => string);
  /** Home of a partition nobody owns yet (default: the region that received the first write). */
  readonly initialHome?: (partition: number, receivedIn: string) => string;
  readonly now?: () => number;
  /** Monotonic clock for lease ages (default performance.now). */
  readonly monotonic?: () => number;
  /**
   * The in-flight part of the fencing budget (fencing-budget.ts): a core append is aborted after
   * `appendTimeoutMs`, and a write starts only on a lease with at least `quorumCopyTimeoutMs +
   * appendTimeoutMs` left (else it reads a fresh one first). Without it appends are not bounded.
   */
  readonly inFlight?: { readonly appendTimeoutMs: number; readonly quorumCopyTimeoutMs: number };
  /**
   * Shortest interval between two majority re-reads of a partition this region is home of but may not
   * write yet (default 200 ms; see `rereadDue`).
   */
  readonly waitingRereadMs?: number;
}

interface Lease {
  readonly entry: PartitionEntry | null;
  /** Monotonic time at which the majority read that produced `entry` STARTED. */
  readonly readStartedAt: number;
}

/**
 * One region's view of partition ownership and the fencing hook for core writes.
 *
 * Why an old home cannot write after a move, even one that missed the update and comes back:
 * 1. Every core append carries a ConditionCheck on the region's local copy (`localFenceGuard`): a region
 *    that received the fence refuses at once (StaleEpochError).
 * 2. A region that missed the fence still has a stale local copy, so the local check is not enough. A home
 *    therefore only writes while it holds a LEASE: a majority read of the register confirming
 *    `home = me, epoch, active`, started less than `leaseMs` ago (a restarted region has no lease).
 *    A majority read that starts after the fence committed intersects the fence's majority and sees it,
 *    so every lease on the old entry expires before fenceCommit + leaseMs.
 * 3. Right before the append the write checks the lease again (`reconfirm`): a write that was in flight
 *    past its lease (a slow quorum copy, a pause) is refused, and the append itself is aborted after
 *    `appendTimeoutMs`. So an acknowledged write committed before its lease's end + appendTimeoutMs.
 * 4. The new home may write only from `activeFrom`, which the unfence sets to unfenceTime + leaseMs +
 *    skewMarginMs; the unfence is proposed after the fence committed. So the old home's last acknowledged
 *    write precedes the new home's first as long as appendTimeoutMs + clock offset < skewMarginMs
 *    (fencing-budget.ts states and checks that budget).
 * A partition nobody owns is claimed by compare-and-set on a majority (one claim wins per epoch).
 * @example const fence = await ownership.fenceCoreWrite(17); // { epoch, guards } for executeCommand
 */
export class PartitionOwnership {
  readonly region: string;
  private readonly map: PartitionMap;
  private readonly local: ControlReplica;
  private readonly controlTable: () => string;
  private readonly initialHome: (partition: number, receivedIn: string) => string;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly inFlight: PartitionOwnershipOptions['inFlight'];
  private readonly waitingRereadMs: number;
  private readonly leases = new Map<number, Lease>();
  private readonly refreshing = new Map<number, Promise<Lease>>();

  constructor(options: PartitionOwnershipOptions) {
    this.region = options.region;
    this.map = options.map;
    this.local = options.local;
    const table = options.controlTable;
    this.controlTable = typeof table === 'string' ? () => table : table;
    this.initialHome = options.initialHome ?? ((_, receivedIn) => receivedIn);
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.inFlight = options.inFlight;
    this.waitingRereadMs = options.waitingRereadMs ?? WAITING_REREAD_MS;
  }

  /**
   * The partition's committed entry for routing (cached for at most a lease); claims it when `claim`.
   * `cachedElsewhere`: a cached active entry naming another region as the home is answered whatever its
   * age (and re-read in the background once older than a lease). Forwarding on it saves a majority read,
   * one WAN round trip, and is safe: the home fences every core write, so a home that moved meanwhile
   * answers 421 and the forwarder invalidates the entry and routes again.
   */
  async entryFor(
    partition: number,
    options: { claim?: boolean; cachedElsewhere?: boolean; forwardedHere?: boolean } = {},
  ): Promise<PartitionEntry | null> {
    if (options.forwardedHere) return this.entryForwardedHere(partition, options);
    const cached = this.leases.get(partition);
    const elsewhere = cached?.entry?.state === 'active' && cached.entry.home !== this.region;
    if (options.cachedElsewhere && cached && elsewhere) {
      if (this.monotonic() - cached.readStartedAt >= this.map.leaseMs)
        this.refresh(partition).catch(() => undefined);
      return cached.entry;
    }
    return (await this.leaseFor(partition, options)).entry;
  }

  /**
   * `entryFor` of a core write a peer forwarded here: the peer found this region the home, so a cached entry
   * naming another region may be behind (read during a Switchover's fence, before MoveHome made this region
   * the home). It is read again once, unless this call read it itself, and at most as often as a waiting
   * home re-reads (`rereadDue`: once per 200 ms per partition, sooner when this region's own copy changed),
   * so a burst of forwarded writes costs no more majority reads. Still elsewhere after that: the caller
   * answers 421 (a forwarded write is never forwarded again). Bug switch `forwarded-notHome-keeps-cache`:
   * the cached entry is answered as it is.
   */
  private async entryForwardedHere(
    partition: number,
    options: { claim?: boolean },
  ): Promise<PartitionEntry | null> {
    const asked = this.monotonic();
    let lease = await this.leaseFor(partition, options);
    const elsewhere = lease.entry !== null && lease.entry.home !== this.region;
    if (!elsewhere || lease.readStartedAt >= asked || bugEnabled('forwarded-notHome-keeps-cache'))
      return lease.entry;
    if (await this.rereadDue(lease)) {
      this.invalidate(partition);
      lease = await this.leaseFor(partition, options);
    }
    return lease.entry;
  }

  /** The lease behind `entryFor`, with at least `minRemainingMs` of it left. */
  private async leaseFor(
    partition: number,
    options: { claim?: boolean; minRemainingMs?: number },
  ): Promise<Lease> {
    let lease = await this.currentLease(partition, options.minRemainingMs ?? 0);
    if (!lease.entry && options.claim) {
      await this.map.claim(partition, this.initialHome(partition, this.region));
      lease = await this.refresh(partition);
    }
    if (
      lease.entry?.state === 'fenced' &&
      lease.entry.reason === 'contention' &&
      lease.entry.home === this.region
    ) {
      await this.map.change(partition, lease.entry, { state: 'active' });
      lease = await this.refresh(partition);
    }
    return lease;
  }

  /**
   * `CommandDeps.fenceCoreWrite`: the epoch, guard and lease re-check for a core append, or
   * NotHome/PartitionFenced.
   */
  async fenceCoreWrite(partition: number): Promise<CoreWriteFence> {
    const budget = this.inFlight;
    const options = {
      claim: true,
      minRemainingMs: budget ? budget.quorumCopyTimeoutMs + budget.appendTimeoutMs : 0,
    };
    const asked = this.monotonic();
    let lease = await this.leaseFor(partition, options);
    if (lease.readStartedAt < asked && this.waitingHere(lease) && (await this.rereadDue(lease))) {
      // This region is (becoming) the home but its CACHED entry says not yet: read again rather than
      // answer 503 for up to a lease (a read this call made itself is not repeated; concurrent calls
      // share one read). A cooperative Switchover unfences with no hold, so the new home may have
      // cached the fenced entry (a write forwarded to it during the move) just before. Bounded: see
      // `rereadDue` (the old home stays fenced for a whole Switchover, written to all along).
      this.invalidate(partition);
      lease = await this.leaseFor(partition, options);
    }
    const entry = lease.entry!;
    if (entry.home !== this.region) throw new NotHomeError(partition, this.region, entry.home, entry.epoch);
    if (entry.state === 'fenced') throw new PartitionFencedError(partition, entry.epoch, this.map.leaseMs);
    const wait = entry.activeFrom - this.now();
    if (wait > 0) throw new PartitionFencedError(partition, entry.epoch, wait);
    const guard = this.localGuard(partition, entry);
    const endsAt = lease.readStartedAt + this.map.leaseMs;
    return {
      epoch: entry.epoch,
      guards: [guard],
      reconfirm: () => this.reconfirm(entry, endsAt),
      confirmAnswer: () => this.confirmLocalCopy(entry),
    };
  }

  /**
   * Before an answer that appends nothing: the local copy (strongly consistent read) must still be the
   * lease's entry, as the append guard would require. A cooperative Switchover writes its fence into this
   * copy and lets the new home write right after reading it back, without waiting for this lease.
   */
  private async confirmLocalCopy(entry: PartitionEntry): Promise<void> {
    const copy = await this.local.read<PartitionValue>(partitionKey(entry.partition));
    const same =
      copy?.epoch === entry.epoch &&
      copy.ballot === entry.ballot &&
      copy.value.home === this.region &&
      copy.value.state === 'active';
    if (same) return;
    this.invalidate(entry.partition);
    throw new StaleEpochError(entry.partition, this.region, entry.epoch);
  }

  /**
   * Whether a home whose cached entry says "not writable yet" reads a majority again: at most once per
   * `waitingRereadMs` per partition (one majority read, a WAN round trip to every control table, per
   * interval however many writes arrive), sooner only when this region's own copy of the entry (a local
   * strongly consistent read) no longer holds the cached entry: the Unfence (or any change) reached it.
   */
  private async rereadDue(lease: Lease): Promise<boolean> {
    const entry = lease.entry!;
    if (this.monotonic() - lease.readStartedAt >= this.waitingRereadMs) return true;
    const copy = await this.local.read<PartitionValue>(partitionKey(entry.partition));
    return copy?.epoch !== entry.epoch || copy.ballot !== entry.ballot;
  }

  /** The local copy's guard at the lease's exact entry (epoch, ballot), for the append's transaction. */
  private localGuard(partition: number, entry: PartitionEntry) {
    return localFenceGuard({
      tableName: this.controlTable(),
      region: this.region,
      entry,
      onFailure: () => this.invalidate(partition),
    });
  }

  /**
   * The replication applier's home check before it takes a cut event under `core.ack: local`
   * (CoreDrainDeps.homeLease): as strong as a write's (see the class comment), never the region's own copy
   * alone, which a home lost in turn still holds ("home me, active") when it comes back (review-finding-2b).
   * A fresh majority read of the register (the rare path: only an event a Failover cut refused pays it; no
   * claim), which repairs the local copy; undefined when the committed entry names another home;
   * PartitionFencedError (transient: the delivery is retried) when it names this region but fenced. Else
   * the append carries the local copy at the lease's exact epoch and ballot as its guard and
   * `reconfirm` bounds it like a write's. No majority: QuorumUnavailableError (the delivery is retried).
   */
  async homeLeaseForApply(partition: number): Promise<CoreWriteFence | undefined> {
    this.invalidate(partition);
    const lease = await this.refresh(partition);
    const entry = lease.entry;
    if (entry?.home !== this.region) return undefined;
    // Fenced but still naming this region (a contention fence, a Switchover not yet moved or rolled back,
    // an operator's fence): whether it stays the home is not decided yet, so the delivery is retried rather
    // than the event quarantined for good (review-finding-3). Bug switch `home-lease-fenced-refuses`.
    if (entry.state !== 'active') {
      if (bugEnabled('home-lease-fenced-refuses')) return undefined;
      throw new PartitionFencedError(partition, entry.epoch, this.map.leaseMs);
    }
    const guard = this.localGuard(partition, entry);
    const endsAt = lease.readStartedAt + this.map.leaseMs;
    return { epoch: entry.epoch, guards: [guard], reconfirm: () => this.reconfirm(entry, endsAt) };
  }

  /** An entry naming this region the home, fenced (or not writable yet). */
  private waitingHere(lease: Lease): boolean {
    const entry = lease.entry;
    if (entry?.home !== this.region) return false;
    return entry.state === 'fenced' || entry.activeFrom > this.now();
  }

  /** Right before the append: the lease (ending at monotonic `endsAt`) must still hold. */
  private reconfirm(entry: PartitionEntry, endsAt: number): number | undefined {
    if (bugEnabled('unbounded-inflight')) return undefined;
    const late = this.monotonic() - endsAt;
    if (late >= 0) throw new LeaseExpiredError(entry.partition, this.region, entry.epoch, late);
    return this.inFlight?.appendTimeoutMs;
  }

  /** Forgets the cached entry (after a StaleEpoch/NotHome answer), so the next call reads a majority. */
  invalidate(partition: number): void {
    this.leases.delete(partition);
  }

  /**
   * A lease with more than `minRemainingMs` left, else a fresh read. Past half of the time it can serve
   * (`leaseMs - minRemainingMs`) it is renewed in the background, so a partition written steadily keeps a
   * usable lease: with the in-flight budget, half of `leaseMs` (the old threshold) was never reached
   * before the lease stopped serving writes, and every write of a partition idle for that long waited
   * for a majority read.
   */
  private async currentLease(partition: number, minRemainingMs: number): Promise<Lease> {
    const lease = this.leases.get(partition);
    const age = lease ? this.monotonic() - lease.readStartedAt : Number.POSITIVE_INFINITY;
    const usable = this.map.leaseMs - minRemainingMs;
    if (!lease || age >= usable) return this.refresh(partition);
    if (age >= usable / 2) this.refresh(partition).catch(() => undefined);
    return lease;
  }

  private refresh(partition: number): Promise<Lease> {
    const pending = this.refreshing.get(partition);
    if (pending) return pending;
    const started = this.monotonic();
    const next = this.map
      .read(partition)
      .then(async (read) => {
        const entry = read ? await this.settleLocalCopy(read) : read;
        const lease = { entry, readStartedAt: started };
        this.leases.set(partition, lease);
        return lease;
      })
      .finally(() => this.refreshing.delete(partition));
    this.refreshing.set(partition, next);
    return next;
  }

  /**
   * The local copy must hold the committed entry for the append's ConditionCheck to pass. It may instead
   * hold a losing proposal of the same (or a later) epoch: two regions claimed at once and the loser's
   * write reached this replica first. Then the home supersedes it with the same value at epoch + 1 (same
   * home, still active: no second writer appears, so no hold time is needed).
   */
  private async settleLocalCopy(entry: PartitionEntry): Promise<PartitionEntry> {
    let current = entry;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { partition: _p, epoch, ballot, ...value } = current;
      if (await this.local.write<PartitionValue>(partitionKey(current.partition), { epoch, ballot, value }))
        break;
      if (current.home !== this.region || current.state !== 'active') break;
      current = await this.map.change(current.partition, current, {});
    }
    return current;
  }
}
