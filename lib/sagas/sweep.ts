import { type CommandDeps, catchUpCoreRow } from '../commands/execute.ts';
import { partitionOf } from '../ownership/partition.ts';
import type { HomeLookup } from '../routing/router.ts';
import type { SagaCatalog } from './definition.ts';
import type { DueSagaSource, SagaStarter } from './ports.ts';

export interface SweepDeps {
  readonly region: string;
  readonly partitions: number;
  readonly sagas: SagaCatalog;
  readonly due: DueSagaSource;
  readonly homes: HomeLookup;
  readonly starter: SagaStarter;
  /**
   * At most one execution per saga is started by the sweeps of one such window (the configured
   * resumeAfterMs): a sweep every few seconds does not pile up executions of a saga that stays stuck.
   */
  readonly resumeEveryMs: number;
  readonly now?: () => number;
  /** Most sagas resumed per type and sweep (default 500); the rest wait for the next sweep. */
  readonly limit?: number;
  /**
   * This region's log and rows: an overdue saga homed elsewhere has its local row caught up with the local
   * log (see sweepSagas). Without it, such sagas are only skipped.
   */
  readonly rows?: Pick<CommandDeps, 'events' | 'states' | 'registry'>;
}

export interface SweepReport {
  /** Overdue sagas this region's index listed (homed anywhere). */
  readonly overdue: number;
  /** Those homed here, for which an execution was started. */
  readonly resumed: readonly string[];
  /** Homed elsewhere (their home's sweep resumes them) or with no readable home now. */
  readonly skipped: number;
  /** Of those homed elsewhere, the ones whose local row the local log had moved past (now caught up). */
  readonly caughtUp: number;
  readonly failed: ReadonlyArray<{ sagaId: string; error: string }>;
}

/**
 * The local row of a saga homed elsewhere, caught up with the local log; true when it moved. A region that
 * was the saga's home may hold the saga's last events in its log but not in its row (the append's answer
 * timed out, the process died) when the partition moved away: its applier never applies its own events, and
 * no command or read of the saga reaches it any more, so without this its row would stay in progress (and
 * due) for good, behind every other region's. A row that cannot be caught up now waits for the next sweep.
 */
async function catchUpElsewhere(deps: SweepDeps, saga: string, sagaId: string): Promise<boolean> {
  if (!deps.rows) return false;
  const { rows } = deps;
  try {
    const stored = await rows.states.getState(saga, sagaId);
    if (!stored) return false;
    const row = await catchUpCoreRow(rows, rows.registry.get(saga), sagaId, stored);
    return row.version !== stored.version;
  } catch {
    return false;
  }
}

/**
 * The recovery sweep of one region: every saga of the catalog that is overdue in the local `byDue` index
 * (idle for its resumeAfterMs, or trying past its expiry) and homed here gets a new execution of the Saga
 * machine, which resumes it where its log says it is: a decided saga is finished its way, an undecided
 * one past its expiry is cancelled. Every region runs it on a schedule, so after a failover the new home
 * of a partition resumes the sagas its lost home was coordinating. Running a saga twice is harmless. An
 * overdue saga homed elsewhere has its local row caught up with the local log (`catchUpElsewhere`).
 */
export async function sweepSagas(deps: SweepDeps): Promise<SweepReport> {
  const now = (deps.now ?? Date.now)();
  const resumed: string[] = [];
  const failed: Array<{ sagaId: string; error: string }> = [];
  let overdue = 0;
  let skipped = 0;
  let caughtUp = 0;
  for (const saga of deps.sagas.all()) {
    const due = await deps.due.overdue(saga.name, now, deps.limit ?? 500);
    overdue += due.length;
    for (const item of due) {
      const entry = await deps.homes.entryFor(partitionOf(item.sagaId, deps.partitions)).catch(() => null);
      if (entry?.home !== deps.region) {
        skipped++;
        if (entry && (await catchUpElsewhere(deps, saga.name, item.sagaId))) caughtUp++;
        continue;
      }
      try {
        // Named per window: a repeated sweep starts nothing new, a saga still stuck a window later does.
        await deps.starter.start(
          { saga: saga.name, sagaId: item.sagaId, startedBy: 'sweep' },
          `${item.sagaId}-sweep-${Math.floor(now / deps.resumeEveryMs)}`,
        );
        resumed.push(item.sagaId);
      } catch (error) {
        failed.push({ sagaId: item.sagaId, error: String(error) });
      }
    }
  }
  return { overdue, resumed, skipped, caughtUp, failed };
}
