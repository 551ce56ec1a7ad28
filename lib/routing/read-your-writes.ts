import type { Tier } from '../config/schema.ts';
import { type ConsistencyToken, type CoreWriteRef, reaches } from './token.ts';

/** The projection's head and (core) seq (port; `StateStore` implements it). */
export interface StateHeadReader {
  getState(
    aggregateType: string,
    aggregateId: string,
  ): Promise<{ readonly head: string | null; readonly seq?: number } | undefined>;
}

/** Whether the local event log holds one event (port; `DynamoLocalLog` implements it). */
export interface LocalLog {
  /** Important/ordinary: the event keyed by this HLC. */
  containsEvent(target: ReadTarget, hlc: string): Promise<boolean>;
  /** Core: the event at `seq` is `eventId` (not another branch's event at that seq). */
  holdsCoreEvent(target: ReadTarget, write: CoreWriteRef): Promise<boolean>;
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
 * the write surely has not arrived. The positive check is exact, per aggregate:
 * - core: the token names the write (seq, epoch, event id); the local log holds THAT event at that seq
 *   and the row has folded up to it. "head >= token" would not do: after a failover the new home's head
 *   passes the token's HLC on its own branch, without the write the old home acknowledged;
 * - important/ordinary: the local log contains the event whose sort key is the token itself (an exact
 *   point read). "Some event with hlc >= token" would not do: a concurrent write from another region can
 *   carry a higher HLC while the client's write is still in flight.
 * The origin region covers its own important/ordinary writes (they are never taken back); a core write
 * is checked even there, since a returning region's orphan is replaced by the home's branch.
 * @example if (!(await ryw.waitUntilCovered(target, token))) return router.readFromOrigin(token, request);
 */
export class ReadYourWrites {
  constructor(private readonly options: ReadYourWritesOptions) {}

  /** True when the local state already includes the token's write. */
  async covers(target: ReadTarget, token: ConsistencyToken): Promise<boolean> {
    const own = token.origin === this.options.region;
    if (own && target.tier !== 'core') return true;
    const watermark = own ? null : await this.options.watermarks?.watermarkFor(token.origin);
    if (watermark && !reaches(watermark, token)) return false;
    if (target.tier === 'core') {
      const { write } = token;
      if (!write) return false;
      const record = await this.options.states.getState(target.aggregateType, target.aggregateId);
      if ((record?.seq ?? 0) < write.seq) return false;
      return this.options.log.holdsCoreEvent(target, write);
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
