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
}

export interface SweepReport {
  /** Overdue sagas this region's index listed (homed anywhere). */
  readonly overdue: number;
  /** Those homed here, for which an execution was started. */
  readonly resumed: readonly string[];
  /** Homed elsewhere (their home's sweep resumes them) or with no readable home now. */
  readonly skipped: number;
  readonly failed: ReadonlyArray<{ sagaId: string; error: string }>;
}

/**
 * The recovery sweep of one region: every saga of the catalog that is overdue in the local `byDue` index
 * (idle for its resumeAfterMs, or trying past its expiry) and homed here gets a new execution of the Saga
 * machine, which resumes it where its log says it is: a decided saga is finished its way, an undecided
 * one past its expiry is cancelled. Every region runs it on a schedule, so after a failover the new home
 * of a partition resumes the sagas its lost home was coordinating. Running a saga twice is harmless.
 */
export async function sweepSagas(deps: SweepDeps): Promise<SweepReport> {
  const now = (deps.now ?? Date.now)();
  const resumed: string[] = [];
  const failed: Array<{ sagaId: string; error: string }> = [];
  let overdue = 0;
  let skipped = 0;
  for (const saga of deps.sagas.all()) {
    const due = await deps.due.overdue(saga.name, now, deps.limit ?? 500);
    overdue += due.length;
    for (const item of due) {
      const entry = await deps.homes.entryFor(partitionOf(item.sagaId, deps.partitions)).catch(() => null);
      if (entry?.home !== deps.region) {
        skipped++;
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
  return { overdue, resumed, skipped, failed };
}
