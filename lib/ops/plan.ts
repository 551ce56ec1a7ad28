import { nearestRegions, type Topology } from '../config/index.ts';
import type { MapView } from './partition-view.ts';
import type { RunbookRequest } from './runbook-requests.ts';

/** What a runbook will do, printed by `--dry-run` before anything starts. */
export interface RunbookPlan {
  readonly runbook: string;
  readonly runsIn: string;
  readonly input: unknown;
  /** Partition moves, as far as the current map tells (`to` undefined: decided by the runbook). */
  readonly moves: ReadonlyArray<{ partitions: number[]; from: string; to: string | undefined }>;
  /** Expected write unavailability per tier while it runs. */
  readonly unavailability: Readonly<Record<'core' | 'important' | 'ordinary', string>>;
}

const homedIn = (map: MapView | undefined, region: string) =>
  map?.partitions.filter((p) => p.home === region).map((p) => p.partition) ?? [];

/**
 * The plan of a runbook request against the current partition map (pure).
 * @example planOf(request, map, topology, { holdSeconds: 7 }).moves
 */
export function planOf(
  request: RunbookRequest,
  map: MapView | undefined,
  topology: Topology,
  timers: { holdSeconds: number },
): RunbookPlan {
  const input = request.input;
  const hold = `${timers.holdSeconds} s hold (lease + skew margin)`;
  const base = { runbook: request.runbook, runsIn: request.region, input };
  switch (request.runbook) {
    case 'Switchover': {
      const to = String(input.to);
      const partitions = (input.partitions as number[] | undefined) ?? homedIn(map, String(input.from));
      const byFrom = new Map<string, number[]>();
      for (const p of partitions) {
        const from = map?.partitions[p]?.home ?? String(input.from ?? '?');
        byFrom.set(from, [...(byFrom.get(from) ?? []), p]);
      }
      return {
        ...base,
        moves: [...byFrom].map(([from, ps]) => ({ partitions: ps, from, to })),
        unavailability: {
          core: `fenced until ${to} holds every event (watermark poll, 5 s each), then a ${hold}`,
          important: 'none: written in every region',
          ordinary: 'none: written in every region',
        },
      };
    }
    case 'Failover': {
      const lost = String(input.region);
      const survivors = nearestRegions(
        topology,
        lost,
        topology.regions.map((r) => r.name).filter((r) => r !== lost),
      );
      return {
        ...base,
        moves: [{ partitions: homedIn(map, lost), from: lost, to: survivors[0] }],
        unavailability: {
          core: `partitions homed in ${lost}: from its loss until Failover has moved them, then a ${hold}`,
          important: `clients of ${lost}: until the GTM routes them elsewhere (health-check detection)`,
          ordinary: `clients of ${lost}: until the GTM routes them elsewhere (health-check detection)`,
        },
      };
    }
    case 'Failback': {
      const back = String(input.region);
      return {
        ...base,
        moves: input.switchBack === false ? [] : [{ partitions: [], from: 'failover homes', to: back }],
        unavailability: {
          core:
            input.switchBack === false
              ? 'none'
              : `each switched-back partition: fenced until ${back} caught up, then a ${hold}`,
          important: 'none',
          ordinary: 'none',
        },
      };
    }
    default:
      return { ...base, moves: [], unavailability: { core: 'none', important: 'none', ordinary: 'none' } };
  }
}
