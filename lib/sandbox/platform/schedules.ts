/** The period of an EventBridge `rate(...)` schedule expression in ms; undefined for `cron(...)`. */
export function rateMs(expression: string): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[match[2]!.replace(/s$/, '') as 'minute'];
  return Number(match[1]) * unit;
}

/** A scheduled rule target the sandbox runs: a local function, invoked every period. */
export interface ScheduledTarget {
  readonly name: string;
  readonly periodMs: number;
  readonly run: () => Promise<unknown>;
  /** False while the target's region is down: the invocation is skipped, as it would not happen. */
  readonly active: () => boolean;
}

/**
 * Runs scheduled rule targets at their (scaled) rate: the first time at once (the sandbox starts in the
 * middle of the schedule), then every period; runs may overlap, as Lambda invocations would.
 */
export class ScheduledTargets {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly targets: readonly ScheduledTarget[],
    private readonly onError: (name: string, error: unknown) => void,
  ) {}

  start(): void {
    for (const target of this.targets) {
      const fire = () => {
        if (!target.active()) return;
        const run = target.run().catch((error) => this.onError(target.name, error));
        this.running.add(run);
        void run.finally(() => this.running.delete(run));
      };
      fire();
      this.timers.push(setInterval(fire, target.periodMs));
    }
  }

  /** Stops the schedules and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await Promise.all(this.running);
  }
}
