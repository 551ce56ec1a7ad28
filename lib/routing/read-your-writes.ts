import type { Tier } from '../config/schema.ts';
import { type ConsistencyToken, reaches } from './token.ts';

/** The projection's head (port; `StateStore` implements it). */
export interface StateHeadReader {
  getState(aggregateType: string, aggregateId: string): Promise<{ readonly head: string | null } | undefined>;
}

/** Whether the local event log holds one event (port; `DynamoLocalLog` implements it). */
export interface LocalLog {
  containsEvent(target: ReadTarget, hlc: string): Promise<boolean>;
}

/** Newest HLC applied from an origin (port; the replication module's adapter implements it). */
export interface WatermarkReader {
  watermarkFor(origin: string): Promise<string | null>;
}

export interface ReadTarget {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly tier: Tier;
}

export interface ReadYourWritesOptions {
  readonly region: string;
  /** routing.readYourWritesWaitMs */
  readonly waitMs: number;
  readonly pollMs?: number;
  readonly states: StateHeadReader;
  readonly log: LocalLog;
  readonly watermarks?: WatermarkReader;
  readonly sleep?: (ms: number) => Promise<void>;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Decides whether this region can serve a read that carries a consistency token (the token is a write
 * to the aggregate being read).
 *
 * A watermark ("newest HLC applied from the origin") does not prove every earlier event of the origin
 * arrived (events travel out of order), so it is only used as a sound NEGATIVE: watermark < token means
 * the write surely has not arrived. The positive check is per aggregate:
 * - core: state.head >= token. Core events of an aggregate are folded contiguously in seq order and
 *   their HLCs grow with seq (a writer's clock receives the head it decides on, see executeCommand), so a
 *   head at or past the token means the write and everything before it are in the state;
 * - important/ordinary: the local log contains the event whose sort key is the token itself (an exact
 *   point read). "Some event with hlc >= token" would not do: a concurrent write from another region can
 *   carry a higher HLC while the client's write is still in flight.
 * The origin region always covers its own writes.
 * @example if (!(await ryw.waitUntilCovered(target, token))) return router.readFromOrigin(token, request);
 */
export class ReadYourWrites {
  constructor(private readonly options: ReadYourWritesOptions) {}

  /** True when the local state already includes the token's write. */
  async covers(target: ReadTarget, token: ConsistencyToken): Promise<boolean> {
    if (token.origin === this.options.region) return true;
    const watermark = await this.options.watermarks?.watermarkFor(token.origin);
    if (watermark && !reaches(watermark, token)) return false;
    if (target.tier === 'core') {
      const record = await this.options.states.getState(target.aggregateType, target.aggregateId);
      return reaches(record?.head, token);
    }
    return this.options.log.containsEvent(target, token.raw);
  }

  /** Polls `covers` for up to waitMs; false when the write still has not arrived. */
  async waitUntilCovered(target: ReadTarget, token: ConsistencyToken): Promise<boolean> {
    const sleep = this.options.sleep ?? delay;
    const deadline = performance.now() + this.options.waitMs;
    const pollMs = this.options.pollMs ?? Math.max(10, Math.min(50, this.options.waitMs / 10));
    for (;;) {
      if (await this.covers(target, token)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await sleep(Math.min(pollMs, left));
    }
  }
}
