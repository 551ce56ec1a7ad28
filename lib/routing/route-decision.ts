import type { Tier } from '../config/schema.ts';
import { NotHomeError } from '../ownership/errors.ts';

export type CoreMode = 'forward' | 'redirect';

/** Where a write is executed. */
export type WriteRoute =
  | { readonly action: 'local' }
  | {
      readonly action: CoreMode;
      readonly region: string;
      /** not-home: core write outside its home; degraded: important write while sync from the home lags. */
      readonly reason: 'not-home' | 'degraded';
    };

export interface WriteRouteInput {
  readonly tier: Tier;
  readonly region: string;
  readonly partition: number;
  /** The partition's home and epoch, or null when nobody owns it yet. */
  readonly home: { readonly region: string; readonly epoch: number } | null;
  /** The sync breaker for the home is open. */
  readonly homeDegraded: boolean;
  readonly mode: CoreMode;
  /** The request was already forwarded once by a peer. */
  readonly forwarded: boolean;
}

const LOCAL: WriteRoute = { action: 'local' };

/**
 * Decides where a write runs (pure):
 * - ordinary: always here;
 * - core: here when this region is the home (or nobody is: the fencing hook claims it), else to the home
 *   (forward or redirect by config); a request a peer already forwarded is refused with NotHomeError
 *   instead of bouncing again;
 * - important: here, unless the sync breaker for the partition's home is open (degrade): then to the home
 *   (single writer while replication lags); a forwarded one is always accepted here.
 * @example decideWriteRoute({ tier: 'core', region: 'us-east-1', partition: 7, home: { region: 'eu-west-1', epoch: 3 }, homeDegraded: false, mode: 'forward', forwarded: false })
 */
export function decideWriteRoute(input: WriteRouteInput): WriteRoute {
  const { home, region } = input;
  if (input.tier === 'ordinary' || home === null || home.region === region) return LOCAL;
  if (input.tier === 'core') {
    if (input.forwarded) throw new NotHomeError(input.partition, region, home.region, home.epoch);
    return { action: input.mode, region: home.region, reason: 'not-home' };
  }
  if (input.homeDegraded && !input.forwarded)
    return { action: input.mode, region: home.region, reason: 'degraded' };
  return LOCAL;
}
