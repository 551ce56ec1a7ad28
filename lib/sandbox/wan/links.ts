import { LinkDownError, UnknownRegionError } from './errors.ts';
import { defaultOneWayMs } from './latency.ts';

/** The state of one direction of a link between two regions. */
export interface LinkState {
  /** One-way latency in ms (unscaled). */
  latencyMs: number;
  /** Up to this many ms are added at random to each message. */
  jitterMs: number;
  /** Probability (0..1) that a message is lost. */
  loss: number;
  partitioned: boolean;
  /** Probability (0..1) that a delivered message is delivered a second time. */
  duplicate: number;
  /** Up to this many extra ms at random per message, so later messages can overtake earlier ones. */
  reorderMs: number;
}

/** Options of a WanNetwork. */
export interface WanNetworkOptions {
  regions: readonly string[];
  /** Multiplies every delay: 0.1 for a fast sandbox, 0 for tests that only care about faults. */
  timeScale?: number;
  /** Source of randomness for jitter, loss, duplication and reordering (Math.random). */
  random?: () => number;
  /** Default jitter for every link (0). */
  jitterMs?: number;
}

/** Counters of a WanNetwork. */
export interface WanStats {
  sent: number;
  delivered: number;
  lost: number;
  refused: number;
  duplicated: number;
}

/** Options of setLink and partition. */
export interface LinkChangeOptions {
  /** Change only the `a -> b` direction (links are symmetric by default). */
  oneWay?: boolean;
}

function checkProbability(name: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0 && value <= 1))
    throw new RangeError(`${name} must be within 0..1, got ${value}`);
}

/**
 * The wide-area network between sandbox regions: per-direction latency, jitter, loss, partitions,
 * regions going down, duplication and reordering, all changeable at run time.
 * @example
 * const wan = new WanNetwork({ regions: ['us-east-1', 'eu-west-1'], timeScale: 0.1 });
 * await wan.send('us-east-1', 'eu-west-1', () => peerBus.putEvents(entries));
 */
export class WanNetwork {
  readonly regions: readonly string[];
  private readonly links = new Map<string, LinkState>();
  private readonly down = new Set<string>();
  private readonly pending = new Map<NodeJS.Timeout, () => void>();
  private readonly random: () => number;
  private readonly counters: WanStats = { sent: 0, delivered: 0, lost: 0, refused: 0, duplicated: 0 };
  private timeScale: number;
  private closed = false;

  constructor(options: WanNetworkOptions) {
    this.regions = [...options.regions];
    this.timeScale = options.timeScale ?? 1;
    this.random = options.random ?? Math.random;
    for (const from of this.regions) {
      for (const to of this.regions) {
        if (from === to) continue;
        const state = {
          latencyMs: defaultOneWayMs(from, to),
          jitterMs: options.jitterMs ?? 0,
          loss: 0,
          partitioned: false,
          duplicate: 0,
          reorderMs: 0,
        };
        this.links.set(`${from}>${to}`, state);
      }
    }
  }

  /** The current state of the `from -> to` direction (a copy). */
  link(from: string, to: string): LinkState {
    return { ...this.state(from, to) };
  }

  /** Changes a link, both directions unless `oneWay`. */
  setLink(a: string, b: string, change: Partial<LinkState>, options: LinkChangeOptions = {}): void {
    checkProbability('loss', change.loss);
    checkProbability('duplicate', change.duplicate);
    Object.assign(this.state(a, b), change);
    if (!options.oneWay) Object.assign(this.state(b, a), change);
  }

  /** Cuts the link between two regions (both directions unless `oneWay`). */
  partition(a: string, b: string, options: LinkChangeOptions = {}): void {
    this.setLink(a, b, { partitioned: true }, options);
  }

  /** Cuts every link of a region. */
  isolate(region: string): void {
    for (const other of this.regions) if (other !== region) this.partition(region, other);
  }

  /** Restores every partitioned link (regions marked down stay down). */
  heal(): void {
    for (const state of this.links.values()) state.partitioned = false;
  }

  /** Marks a region down (nothing reaches it or leaves it) or up again. */
  setRegionDown(region: string, isDown: boolean): void {
    this.assertRegion(region);
    if (isDown) this.down.add(region);
    else this.down.delete(region);
  }

  /** Whether a region is marked down. */
  isRegionDown(region: string): boolean {
    return this.down.has(region);
  }

  /** Changes the time scale of later messages. */
  setTimeScale(timeScale: number): void {
    this.timeScale = timeScale;
  }

  /** Counters since the network was created. */
  stats(): WanStats {
    return { ...this.counters };
  }

  /**
   * Carries a message: after the link's delay, calls `fn` "in" the destination and resolves with its result.
   * Rejects with LinkDownError when the link is partitioned or a region is down (at sending or on arrival:
   * a message in flight when the link is cut is lost) or when the message is lost; errors thrown by `fn`
   * pass through unchanged. Within one region there is no delay.
   */
  async send<T>(from: string, to: string, fn: () => T | Promise<T>): Promise<T> {
    this.counters.sent++;
    if (from === to) {
      this.assertRegion(from);
      return fn();
    }
    const state = this.state(from, to);
    this.assertReachable(from, to, state);
    const lost = this.random() < state.loss;
    await this.wait(this.delayMs(state), from, to);
    this.assertReachable(from, to, state);
    if (lost) {
      this.counters.lost++;
      throw new LinkDownError(from, to, 'lost');
    }
    this.counters.delivered++;
    if (this.random() < state.duplicate) this.sendDuplicate(from, to, state, fn);
    return fn();
  }

  /** Fails every message in flight with LinkDownError('closed') and clears all timers. */
  close(): void {
    this.closed = true;
    for (const [timer, fail] of this.pending) {
      clearTimeout(timer);
      fail();
    }
    this.pending.clear();
  }

  private sendDuplicate<T>(from: string, to: string, state: LinkState, fn: () => T | Promise<T>): void {
    this.counters.duplicated++;
    // The copy's outcome is nobody's business: the sender only ever sees the original's.
    void this.wait(this.delayMs(state), from, to)
      .then(fn)
      .catch(() => {});
  }

  private delayMs(state: LinkState): number {
    const ms = state.latencyMs + this.random() * state.jitterMs + this.random() * state.reorderMs;
    return ms * this.timeScale;
  }

  private wait(ms: number, from: string, to: string): Promise<void> {
    if (this.closed) return Promise.reject(new LinkDownError(from, to, 'closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.set(timer, () => reject(new LinkDownError(from, to, 'closed')));
    });
  }

  private assertReachable(from: string, to: string, state: LinkState): void {
    if (this.down.has(from) || this.down.has(to)) {
      this.counters.refused++;
      throw new LinkDownError(from, to, 'region-down');
    }
    if (state.partitioned) {
      this.counters.refused++;
      throw new LinkDownError(from, to, 'partitioned');
    }
  }

  private assertRegion(region: string): void {
    if (!this.regions.includes(region)) throw new UnknownRegionError(region, this.regions);
  }

  private state(from: string, to: string): LinkState {
    this.assertRegion(from);
    this.assertRegion(to);
    const state = this.links.get(`${from}>${to}`);
    if (!state) throw new RangeError(`No link from a region to itself (${from})`);
    return state;
  }
}
