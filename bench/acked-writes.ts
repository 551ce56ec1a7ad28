/**
 * Acknowledged writes as clients saw them: every event of every 200 answer to a command, with its tier,
 * the region that served it and when the client got the answer. The RPO and switchover benches count
 * "acknowledged writes lost" over these, not over what some region happens to hold.
 */
import { compareHlc, decodeHlc } from '../lib/clock/index.ts';
import type { Tier } from '../lib/config/index.ts';
import type { FailoverRecord } from '../lib/runbooks/failover-record.ts';
import { recovered } from '../lib/sandbox/demo/at-risk.ts';
import { CLIENT_REGION_HEADER } from '../lib/sandbox/gtm/index.ts';
import type { SandboxRegion } from '../lib/sandbox/platform/region.ts';

/** One event of an acknowledged write. */
export interface AckedEvent {
  readonly eventId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly tier: Tier;
  /** The region whose HLC stamped the event (its origin). */
  readonly origin: string;
  readonly hlc: string;
  /** Wall-clock ms when the client had the answer. */
  readonly at: number;
}

const COMMAND_PATH = /^\/v1\/([^/]+)\/([^/]+)\/commands$/;

/** The acknowledged events of one command answer; [] for anything but a 200 with events. */
export function ackedEventsOf(input: {
  path: string;
  status: number;
  body: unknown;
  at: number;
  tierOf: (aggregateType: string) => Tier | undefined;
}): AckedEvent[] {
  const match = COMMAND_PATH.exec(input.path);
  if (!match || input.status !== 200) return [];
  const [, aggregateType = '', rawId = ''] = match;
  const tier = input.tierOf(aggregateType);
  const events = (input.body as { events?: unknown } | null)?.events;
  if (!tier || !Array.isArray(events)) return [];
  return events.flatMap((e: { eventId?: unknown; hlc?: unknown }) =>
    typeof e.eventId === 'string' && typeof e.hlc === 'string'
      ? [
          {
            eventId: e.eventId,
            aggregateType,
            aggregateId: decodeURIComponent(rawId),
            tier,
            origin: decodeHlc(e.hlc).region,
            hlc: e.hlc,
            at: input.at,
          },
        ]
      : [],
  );
}

/**
 * Records every acknowledged command sent to one of `urls` (the front door, a region's API) by wrapping the global fetch (the demo's clients
 * call it); `restore()` puts the original back. Requests without the client-location header (health
 * checks, calls between regions) pass untouched.
 */
export function recordAckedWrites(input: {
  urls: readonly string[];
  tierOf: (aggregateType: string) => Tier | undefined;
}): { acked: AckedEvent[]; restore: () => void } {
  const original = globalThis.fetch;
  const acked: AckedEvent[] = [];
  const wrapped: typeof fetch = async (resource, init) => {
    const response = await original(resource, init);
    const url =
      typeof resource === 'string' ? resource : resource instanceof URL ? resource.href : resource.url;
    // Only what clients sent (the demo's clients name their location); region-to-region calls never do.
    if (!new Headers(init?.headers).has(CLIENT_REGION_HEADER)) return response;
    if (!input.urls.some((u) => url.startsWith(u)) || (init?.method ?? 'GET') !== 'POST' || !response.ok)
      return response;
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => null);
    const path = new URL(url).pathname;
    acked.push(
      ...ackedEventsOf({ path, status: response.status, body, at: Date.now(), tierOf: input.tierOf }),
    );
    return response;
  };
  globalThis.fetch = wrapped;
  const restore = () => {
    globalThis.fetch = original;
  };
  return { acked, restore };
}

/** Event ids per tier. */
export function idsByTier(events: readonly AckedEvent[]): Record<Tier, Set<string>> {
  const out: Record<Tier, Set<string>> = { core: new Set(), important: new Set(), ordinary: new Set() };
  for (const e of events) out[e.tier].add(e.eventId);
  return out;
}

/** How many of `ids` some region lacks (at-risk.ts's `recovered`: present in every region). */
export async function missingSomewhere(
  ids: ReadonlySet<string>,
  regions: readonly SandboxRegion[],
): Promise<number> {
  return ids.size - (await recovered(ids, regions));
}

/**
 * The RPO window a failover record describes, over acknowledged events: those the lost region stamped
 * after the watermark some surviving region had applied from it at failover (null watermark: nothing).
 */
export function atRiskPerRecord(events: readonly AckedEvent[], record: FailoverRecord): AckedEvent[] {
  const marks = Object.values(record.watermarks);
  return events.filter(
    (e) =>
      e.origin === record.region &&
      marks.some((mark) => mark === null || compareHlc(decodeHlc(e.hlc), decodeHlc(mark)) > 0),
  );
}

/**
 * The longest stretch without an acknowledged write that overlaps [from, to]: from the last ack before
 * (or at) the stretch to the first after it. Infinity when no ack came after `to`; NaN with no ack before.
 */
export function unavailabilityWindow(acks: readonly number[], from: number, to: number): number {
  const sorted = [...acks].sort((a, b) => a - b);
  if (!sorted.some((t) => t <= from)) return Number.NaN;
  if (!sorted.some((t) => t > to)) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [a, b] = [sorted[i]!, sorted[i + 1]!];
    if (a <= to && b >= from) worst = Math.max(worst, b - a);
  }
  return worst;
}
