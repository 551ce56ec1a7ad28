import type { InjectedFault } from './nemesis.ts';
import type { RunbookRun } from './runbook-starter.ts';

/**
 * How long after its expiry, besides the sweep interval and its homes' outages, a hold may still be
 * closed: the execution the sweep starts (a few local writes, on a loaded 2-core machine) and what a fault
 * leaves behind once healed (a Failover's lease hold, a backlog of retried tasks).
 */
export const HOLD_OUTAGE_ALLOWANCE_MS = 10_000;

/**
 * Faults during which a home may be unable to write: region loss (one, or a minority of five), isolation
 * (one region, or a minority split off), lease refusals, and the compound faults that kill or isolate a
 * region. A cut link or a slow one between two regions is none: a hold is closed at its account's home
 * (the transfer's own home too), by local writes whose quorum copies need one peer of two (two of four).
 */
const OUTAGE_KINDS = new Set<string>([
  'kill-region',
  'kill-minority',
  'isolate-region',
  'split-minority',
  'clock-skew-margin',
  'runbook-during-fault',
  'kill-during-switchover',
  'failover-during-switchover',
  'forked-orphan-failback',
  'quorum-copy-elsewhere',
]);

/** An epoch-ms window during which the homes in `regions` (every region when absent) may not write. */
export interface OutageWindow {
  readonly from: number;
  readonly to: number;
  readonly regions?: readonly string[];
}

/** The regions a Failover stops: the lost one and those taking its partitions (until they may write). */
function failoverRegions(run: RunbookRun): readonly string[] | undefined {
  const lost = run.input.region;
  if (typeof lost !== 'string') return undefined;
  return [lost, ...(run.collected?.moved ?? []).map((m) => m.home)];
}

/**
 * The windows during which holds may wait for their homes: the faults above, for the regions their
 * target names; every runbook that moves partitions (a Failover for the regions it moves them between, a
 * Switchover or Failback for all: their partitions' homes are not in the record); the restore after the
 * run. A Repair moves nothing.
 */
export function outageWindows(input: {
  faults: readonly InjectedFault[];
  runbooks: readonly RunbookRun[];
  /** The run's regions, as fault targets name them. */
  regions: readonly string[];
  /** Epoch ms the run (and the faults' and runbooks' `at`) started; the end of the nemesis's restore. */
  started: number;
  restoredAt: number;
  seconds: number;
}): OutageWindow[] {
  const { started } = input;
  const scoped = (regions: readonly string[] | undefined) =>
    regions && regions.length > 0 ? { regions: [...new Set(regions)] } : {};
  return [
    ...input.faults
      .filter((f) => OUTAGE_KINDS.has(f.kind))
      .map((f) => ({
        from: started + f.at,
        to: started + f.healedAt,
        ...scoped(input.regions.filter((r) => f.target.includes(r))),
      })),
    ...input.runbooks
      .filter((r) => r.runbook !== 'Repair')
      .map((r) => ({
        from: started + r.at,
        to: started + r.at + (r.durationMs ?? 0),
        ...scoped(r.runbook === 'Failover' ? failoverRegions(r) : undefined),
      })),
    { from: started + input.seconds * 1_000, to: input.restoredAt },
  ];
}

/** Ms of [from, to] covered by the union of the windows that stop any of `homes` (all windows without). */
export function coveredMs(
  windows: readonly OutageWindow[],
  from: number,
  to: number,
  homes?: readonly string[],
): number {
  const clipped = windows
    .filter((w) => !homes || !w.regions || w.regions.some((r) => homes.includes(r)))
    .map((w) => [Math.max(w.from, from), Math.min(w.to, to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = from;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}
