/**
 * Where a Repair's time goes, per stage, summed over every task of this process (Map iterations run
 * concurrently, so the sums can exceed the execution's wall time: they say which stage dominates, not how
 * long the run was). Read by `npm run bench -- repair`; a Lambda instance accumulates them harmlessly.
 */
export const REPAIR_STAGES = [
  'buildTrees',
  'diff',
  'listLeaves',
  'fetch',
  'directDelivery',
  'batchedWrite',
  'applierReplay',
  'conflicts',
  'rowRebuild',
] as const;

export type RepairStage = (typeof REPAIR_STAGES)[number];

/** Summed milliseconds and calls of one stage. */
export interface StageTotal {
  readonly ms: number;
  readonly calls: number;
}

const totals = new Map<RepairStage, { ms: number; calls: number }>();

/** Runs `work`, adding its wall time to `stage`'s total (failed calls included). */
export async function timedStage<T>(stage: RepairStage, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    const total = totals.get(stage) ?? { ms: 0, calls: 0 };
    total.ms += performance.now() - started;
    total.calls++;
    totals.set(stage, total);
  }
}

/** Every stage's total since the last reset (stages never timed: 0). */
export function repairStageTotals(): Record<RepairStage, StageTotal> {
  return Object.fromEntries(
    REPAIR_STAGES.map((stage) => [stage, { ...(totals.get(stage) ?? { ms: 0, calls: 0 }) }]),
  ) as Record<RepairStage, StageTotal>;
}

/** Clears the totals (the bench resets them before each measured execution). */
export function resetRepairStageTotals(): void {
  totals.clear();
}
