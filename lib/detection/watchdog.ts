import { setTimeout as delay } from 'node:timers/promises';
import { bugEnabled } from '../faults/switches.ts';
import { EpochConflictError, QuorumUnavailableError } from '../ownership/errors.ts';
import type { QuorumRegister } from '../ownership/quorum-register.ts';
import type { RegisterRecord } from '../ownership/register-record.ts';
import {
  claimAction,
  type FailoverClaim,
  failoverClaimKey,
  failoverExecutionName,
} from './failover-claim.ts';
import type { ProbeResult } from './health-probe.ts';
import type { Observation, ObservationStore } from './observations.ts';

/** What the watchdog asks Step Functions to start: the Failover runbook of its own region. */
export interface FailoverStart {
  /** Execution name: the same claim always starts the same name (a repeat is refused by AWS). */
  readonly name: string;
  readonly input: {
    readonly region: string;
    readonly trigger: 'watchdog';
    readonly claimedBy: string;
    readonly claimEpoch: number;
  };
}

export interface WatchdogDeps {
  readonly region: string;
  /** Every configured region (this one included). */
  readonly regions: readonly string[];
  /** `gtm.autoFailover`: false observes and publishes, but never claims nor starts. */
  readonly autoFailover: boolean;
  /** Consecutive failed probes before this region suspects a peer. */
  readonly failureThreshold: number;
  /** A peer's heartbeats older than this count as silence (the Failover runbook's vote uses the same). */
  readonly staleHeartbeatMs: number;
  /** Peers' observations older than this are not counted (they stopped observing). */
  readonly observationFreshMs: number;
  /** A claim that has not drained its region after this long is taken over. */
  readonly claimRetryMs: number;
  /** Budget for reading one peer's observation. */
  readonly readTimeoutMs: number;
  /** GET of a peer's /health, classified. */
  probe(target: string): Promise<ProbeResult>;
  /** Age of the newest heartbeat applied here from `target` (null: none ever). */
  heartbeatAgeMs(target: string): Promise<number | null>;
  readonly observations: ObservationStore;
  /** The quorum control register (claims live there). */
  readonly register: QuorumRegister;
  /** True when the region's traffic state is drained (its Failover got as far as DrainRegion). */
  isDrained(target: string): Promise<boolean>;
  /** Starts this region's Failover runbook; resolves when started or when that name already ran. */
  startFailover(start: FailoverStart): Promise<void>;
  /**
   * After a lost claim race, waits this long times (1 + its rank among the agreeing regions, by name) and
   * tries again, up to twice in the same tick: watchdogs whose schedules fire together would otherwise
   * each take one replica and both lose, round after round (dueling proposers). Default 250 ms.
   */
  readonly claimBackoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

/** What one tick found and did about one peer. */
export interface PeerReport {
  readonly target: string;
  readonly observation: Observation;
  /** Regions that agree the target is lost (this one included), when this one suspects it. */
  readonly agreeing?: readonly string[];
  readonly action?: 'claimed' | 'started' | 'took-over' | 'lost-race' | 'left-to-claimer';
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/**
 * The failure detector of one region (one per region, none global): every tick it probes each peer's
 * /health, publishes what it sees, and when it suspects a peer (consecutive failed probes and silent
 * heartbeats, the same evidence the Failover runbook's vote uses) it reads the other regions'
 * observations. Once a majority of all regions suspect the peer, it claims the failover through the
 * quorum register; only the claimer starts the Failover runbook, in its own region.
 * @example const watchdog = new Watchdog(deps); await watchdog.tick();
 */
export class Watchdog {
  private readonly failures = new Map<string, number>();
  private readonly started = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: WatchdogDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** One round over every peer (concurrently). */
  async tick(): Promise<PeerReport[]> {
    const peers = this.deps.regions.filter((r) => r !== this.deps.region);
    return Promise.all(peers.map((peer) => this.watch(peer)));
  }

  private async watch(target: string): Promise<PeerReport> {
    const [probe, heartbeatAgeMs] = await Promise.all([
      this.deps.probe(target),
      this.deps.heartbeatAgeMs(target).catch(() => null),
    ]);
    const failures = probe.verdict === 'down' ? (this.failures.get(target) ?? 0) + 1 : 0;
    this.failures.set(target, failures);
    // Never heard from is no evidence of silence: a region just deployed (or a watchdog just started
    // in a fresh region) has applied no heartbeat yet, and must not read as lost while it starts.
    const silent = heartbeatAgeMs !== null && heartbeatAgeMs >= this.deps.staleHeartbeatMs;
    const observation: Observation = {
      observer: this.deps.region,
      target,
      verdict: probe.verdict,
      detail: probe.detail,
      failures,
      heartbeatAgeMs,
      suspect: failures >= this.deps.failureThreshold && silent,
      at: this.now(),
    };
    await this.deps.observations.publish(observation).catch((error) => {
      this.deps.log?.(`watchdog ${this.deps.region}: could not publish its view of ${target}: ${error}`);
    });
    if (!this.deps.autoFailover) return { target, observation };
    return observation.suspect ? this.onSuspect(observation) : { target, observation };
  }

  /** Counts the regions that suspect the target; with a majority, claims and starts the Failover. */
  private async onSuspect(observation: Observation): Promise<PeerReport> {
    const { target } = observation;
    const others = this.deps.regions.filter((r) => r !== target && r !== this.deps.region);
    const views = await Promise.all(
      others.map((r) => withTimeout(this.deps.observations.read(r, target), this.deps.readTimeoutMs, null)),
    );
    const fresh = (o: Observation | null) =>
      o?.suspect === true && this.now() - o.at <= this.deps.observationFreshMs;
    const agreeing = [this.deps.region, ...others.filter((_, i) => fresh(views[i] ?? null))];
    const majority = Math.floor(this.deps.regions.length / 2) + 1;
    if (agreeing.length < majority) return { target, observation, agreeing };
    this.deps.log?.(
      `watchdog ${this.deps.region}: ${agreeing.join(', ')} suspect ${target} (${observation.detail}; heartbeat ${observation.heartbeatAgeMs} ms old)`,
    );
    const claim = () =>
      this.claim(target).catch((error): PeerReport['action'] => {
        if (error instanceof QuorumUnavailableError) return undefined;
        // The read of the claim met two unfinished proposals of one epoch (the racers' own): a lost race too.
        if (error instanceof EpochConflictError) return 'lost-race';
        throw error;
      });
    let action = await claim();
    // Bug switch `lockstep-claims`: a lost race waits for the next tick (both may lose every round).
    const rank = [...agreeing].sort().indexOf(this.deps.region);
    for (let retry = 1; retry <= 2 && action === 'lost-race' && !bugEnabled('lockstep-claims'); retry++) {
      await (this.deps.sleep ?? delay)((this.deps.claimBackoffMs ?? 250) * (1 + rank) * retry);
      action = await claim();
    }
    return { target, observation, agreeing, ...(action ? { action } : {}) };
  }

  private async claim(target: string): Promise<PeerReport['action']> {
    if (bugEnabled('unclaimed-failover')) {
      const name = `failover-${target}-by-${this.deps.region}`;
      await this.start(target, {
        epoch: 0,
        ballot: name,
        value: { by: this.deps.region, at: this.now(), execution: name },
      });
      return 'claimed';
    }
    const key = failoverClaimKey(target);
    const current = await this.deps.register.read<FailoverClaim>(key);
    const drained = current ? await this.deps.isDrained(target) : false;
    const action = claimAction({
      current: current?.value ?? null,
      me: this.deps.region,
      now: this.now(),
      retryMs: this.deps.claimRetryMs,
      drained,
    });
    if (action === 'none') return 'left-to-claimer';
    if (action === 'start-own' && current) {
      await this.start(target, current);
      return 'started';
    }
    let claimed: RegisterRecord<FailoverClaim>;
    try {
      const epoch = (current?.epoch ?? 0) + 1;
      claimed = await this.deps.register.compareAndSet<FailoverClaim>(key, current, {
        by: this.deps.region,
        at: this.now(),
        execution: failoverExecutionName(target, epoch),
      });
    } catch (error) {
      if (error instanceof EpochConflictError) return 'lost-race';
      throw error;
    }
    this.deps.log?.(
      `watchdog ${this.deps.region}: claimed the failover of ${target} (${claimed.value.execution})`,
    );
    await this.start(target, claimed);
    return action === 'take-over' ? 'took-over' : 'claimed';
  }

  private async start(target: string, claim: RegisterRecord<FailoverClaim>): Promise<void> {
    const name = claim.value.execution;
    if (this.started.has(name)) return;
    await this.deps.startFailover({
      name,
      input: { region: target, trigger: 'watchdog', claimedBy: claim.value.by, claimEpoch: claim.epoch },
    });
    this.started.add(name);
  }
}
