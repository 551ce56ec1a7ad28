import { randomUUID } from 'node:crypto';
import type { Tier } from '../config/schema.ts';
import { partitionOf } from '../ownership/partition.ts';
import { ConsistencyUnavailableError, PeerUnavailableError } from './errors.ts';
import { ROUTING_HEADERS } from './headers.ts';
import type { PeerClient } from './peer-client.ts';
import { type CoreMode, decideWriteRoute, type WriteRoute } from './route-decision.ts';
import type { ConsistencyToken } from './token.ts';
import { endpointUrl, type PeerRequest, type PeerResponse } from './transport.ts';

/** Partition homes (port; `PartitionOwnership` implements it). */
export interface HomeLookup {
  entryFor(
    partition: number,
    options?: { claim?: boolean; cachedElsewhere?: boolean; forwardedHere?: boolean },
  ): Promise<{ readonly home: string; readonly epoch: number } | null>;
  invalidate(partition: number): void;
}

/** Peers whose sync breaker is open (port; `SyncBreakers` implements it). */
export interface DegradeCheck {
  degradedPeers(): Promise<readonly string[]>;
}

export interface CommandRouterOptions {
  readonly region: string;
  readonly partitions: number;
  /** routing.coreMode: forward server-side, or answer 307 to the home's regional endpoint. */
  readonly mode: CoreMode;
  readonly homes: HomeLookup;
  readonly peers: PeerClient;
  readonly degrade?: DegradeCheck;
  /** Base URL of every region's API (REGION_ENDPOINTS), for redirects. */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** Pauses between asking again for a forwarded write the home still runs (default 50-800 ms, 5 times). */
  readonly inProgressRetryMs?: readonly number[];
}

export interface RouteTarget {
  readonly tier: Tier;
  readonly aggregateId: string;
  /** X-Multiactive-Forwarded-By of the incoming request. */
  readonly forwardedBy?: string | undefined;
}

/** Pauses before asking a home again for a forwarded request it still runs (then 503). */
const IN_PROGRESS_RETRY_MS: readonly number[] = [50, 100, 200, 400, 800];

/** The home's 409 for "this request id is being executed right now" (Powertools idempotency). */
function isInProgress(response: PeerResponse): boolean {
  if (response.status !== 409) return false;
  try {
    return (JSON.parse(response.body) as { error?: unknown }).error === 'IdempotencyAlreadyInProgressError';
  } catch {
    return false;
  }
}

/** The forwarded request may or may not have run: indeterminate, like a timeout. */
function inProgressAnswer(home: string, headers: Record<string, string>): PeerResponse {
  return {
    status: 503,
    headers: { ...headers, 'content-type': 'application/json', 'Retry-After': '1' },
    body: JSON.stringify({
      error: 'ForwardInProgress',
      message: `${home} is still executing this forwarded request; its outcome is not known yet`,
      details: { home },
    }),
  };
}

/** A route plus the partition it was decided for. */
export type RoutedWrite = WriteRoute & { readonly partition: number };

/**
 * Routes writes to the partition's home (forward or 307) and reads with a token back to their origin.
 * @example const route = await router.route({ tier: 'core', aggregateId: 'a1' }); if (route.action !== 'local') return router.dispatch(route, request);
 */
export class CommandRouter {
  readonly region: string;

  constructor(private readonly options: CommandRouterOptions) {
    this.region = options.region;
  }

  /** Decides where a write to `aggregateId` runs. Core writes to an unowned partition claim it here. */
  async route(target: RouteTarget): Promise<RoutedWrite> {
    const partition = partitionOf(target.aggregateId, this.options.partitions);
    const forwarded = Boolean(target.forwardedBy);
    if (target.tier === 'ordinary') return { action: 'local', partition };
    let homeDegraded = false;
    let entry: { home: string; epoch: number } | null = null;
    if (target.tier === 'core') {
      // A cached home elsewhere is good enough to forward to: that home fences the write (421 if it moved).
      // A write a peer forwarded here may not go on: an entry naming another home is re-read once first
      // (the peer found this region the home, so the cache may be the one behind).
      const lookup = forwarded ? { forwardedHere: true } : { cachedElsewhere: true };
      entry = await this.options.homes.entryFor(partition, { claim: true, ...lookup });
    } else {
      // Important writes look their home up only while some peer is degraded: no quorum read otherwise.
      const degraded = (await this.options.degrade?.degradedPeers()) ?? [];
      if (degraded.length > 0) {
        entry = await this.options.homes.entryFor(partition, { claim: false });
        homeDegraded = entry !== null && degraded.includes(entry.home);
      }
    }
    const route = decideWriteRoute({
      tier: target.tier,
      region: this.region,
      partition,
      home: entry ? { region: entry.home, epoch: entry.epoch } : null,
      homeDegraded,
      mode: this.options.mode,
      forwarded,
    });
    return { ...route, partition };
  }

  /** Carries out a non-local route: the home's answer (forward) or a 307 to the home (redirect). */
  async dispatch(
    route: Exclude<RoutedWrite, { action: 'local' }>,
    request: PeerRequest,
  ): Promise<PeerResponse> {
    return route.action === 'redirect'
      ? this.redirect(route.region, request)
      : this.forward(route.region, request);
  }

  /**
   * Sends the request to `home` marked as forwarded, with a request id the home uses as the command's
   * idempotency key, so that a copy of the request delivered twice runs once. When the home answers that
   * the same request id is still in progress (a copy got there first), asks again for the stored outcome;
   * still in progress after that, the outcome is unknown: 503. PeerUnavailableError when it cannot be
   * reached.
   */
  async forward(home: string, request: PeerRequest): Promise<PeerResponse> {
    const forwarded = this.asForwarded(request);
    forwarded.headers[ROUTING_HEADERS.requestId] ??= randomUUID();
    const waits = this.options.inProgressRetryMs ?? IN_PROGRESS_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      const response = await this.options.peers.send(home, forwarded);
      const headers = { ...response.headers, [ROUTING_HEADERS.forwardedBy]: this.region };
      if (!isInProgress(response)) return { ...response, headers };
      const wait = waits[attempt];
      if (wait === undefined) return inProgressAnswer(home, headers);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A 307 to the home's regional endpoint (method and body are preserved by the client). */
  redirect(home: string, request: PeerRequest): PeerResponse {
    const base = this.options.endpoints?.[home];
    if (!base) throw new PeerUnavailableError(home, 'no-endpoint', 1_000);
    const location = endpointUrl(base, request.path);
    return {
      status: 307,
      headers: { location, [ROUTING_HEADERS.home]: home, 'content-type': 'application/json' },
      body: JSON.stringify({
        error: 'NotHome',
        message: `this write belongs to ${home}`,
        details: { home, location },
      }),
    };
  }

  /** Back-to-source read at the token's origin; ConsistencyUnavailableError when the origin is unreachable. */
  async readFromOrigin(token: ConsistencyToken, request: PeerRequest): Promise<PeerResponse> {
    try {
      const response = await this.options.peers.send(token.origin, this.asForwarded(request));
      return { ...response, headers: { ...response.headers, [ROUTING_HEADERS.readSource]: token.origin } };
    } catch (error) {
      if (!(error instanceof PeerUnavailableError)) throw error;
      throw new ConsistencyUnavailableError(token.origin, token.issued, error.retryAfterMs, { cause: error });
    }
  }

  /** Forget a cached home after the home itself said it is not (421 / StaleEpoch). */
  invalidate(partition: number): void {
    this.options.homes.invalidate(partition);
  }

  private asForwarded(request: PeerRequest): PeerRequest & { headers: Record<string, string> } {
    return { ...request, headers: { ...request.headers, [ROUTING_HEADERS.forwardedBy]: this.region } };
  }
}
