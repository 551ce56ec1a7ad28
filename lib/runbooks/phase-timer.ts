/**
 * Where a runbook task's time went, by phase, reported in the task's result (`ms`) so that a benchmark can
 * read it from the execution's output: a task's time in the state machine minus `ms.total` is what the
 * invoke and the state transition cost. Phases run per partition (in parallel) keep the longest
 * partition's sum; the figures are for people, nothing decides on them.
 */
export class PhaseTimer {
  private readonly started = performance.now();
  private readonly sums = new Map<string, Map<string, number>>();

  /** Runs `step`, adding its time to `phase` (for `key`, one partition, when phases run in parallel). */
  async time<T>(phase: string, step: () => Promise<T>, key = ''): Promise<T> {
    const at = performance.now();
    try {
      return await step();
    } finally {
      this.add(phase, performance.now() - at, key);
    }
  }

  /** Adds `ms` to `phase` for `key`. */
  add(phase: string, ms: number, key = ''): void {
    const byKey = this.sums.get(phase) ?? new Map<string, number>();
    byKey.set(key, (byKey.get(key) ?? 0) + ms);
    this.sums.set(phase, byKey);
  }

  /** Each phase's ms (the longest key's sum), and `total` since the timer was made, rounded. */
  report(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [phase, byKey] of this.sums) out[phase] = Math.round(Math.max(...byKey.values()));
    out.total = Math.round(performance.now() - this.started);
    return out;
  }
}
