import type { ConflictRecordPort } from '../conflict/record-store.ts';
import type { QuarantinePort } from './quarantine.ts';
import { lagMs, type WatermarkStore } from './watermarks.ts';

/** Replication as seen from one origin. */
export interface OriginStatus {
  readonly origin: string;
  /** Newest HLC applied from it, null before the first. */
  readonly watermark: string | null;
  readonly appliedAt: string | null;
  /** now − wall time of the watermark; null when nothing was ever applied from it. */
  readonly lagMs: number | null;
}

export interface ReplicationStatus {
  readonly region: string;
  readonly origins: OriginStatus[];
  readonly quarantined: number;
  readonly openConflicts: number;
  readonly at: string;
}

export interface ReplicationStatusDeps {
  readonly region: string;
  /** Every other region of the topology (`peersOf(topology, region)`). */
  readonly peers: readonly string[];
  readonly watermarks: WatermarkStore;
  readonly quarantine: Pick<QuarantinePort, 'count'>;
  readonly conflicts: Pick<ConflictRecordPort, 'countOpen'>;
  readonly now?: () => Date;
}

/**
 * Lag per origin, quarantine count and open manual conflicts: the body of `/health` and
 * `GET /v1/replication/status`.
 * @example const status = await replicationStatus({ region, peers, watermarks, quarantine, conflicts });
 */
export async function replicationStatus(deps: ReplicationStatusDeps): Promise<ReplicationStatus> {
  const now = (deps.now ?? (() => new Date()))();
  const [watermarks, quarantined, openConflicts] = await Promise.all([
    deps.watermarks.list(),
    deps.quarantine.count(),
    deps.conflicts.countOpen(),
  ]);
  const origins = deps.peers.map((origin) => {
    const watermark = watermarks.find((w) => w.origin === origin);
    return {
      origin,
      watermark: watermark?.hlc ?? null,
      appliedAt: watermark?.appliedAt ?? null,
      lagMs: lagMs(now.getTime(), watermark),
    };
  });
  return { region: deps.region, origins, quarantined, openConflicts, at: now.toISOString() };
}
