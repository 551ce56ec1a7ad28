/** Sleeps that can all be cut short at once, so stopping never leaves a timer behind. */
export class Sleeper {
  private readonly pending = new Set<{ timer: NodeJS.Timeout; resolve: (completed: boolean) => void }>();
  private cancelled = true;

  /** Allows sleeping (again). */
  open(): void {
    this.cancelled = false;
  }

  /** Resolves `true` after `ms`, or `false` at once when cancelled (now or later). */
  sleep(ms: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve(true);
        }, ms),
        resolve,
      };
      this.pending.add(entry);
    });
  }

  /** Ends every pending sleep with `false`; later sleeps end at once until `open()`. */
  cancelAll(): void {
    this.cancelled = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve(false);
    }
    this.pending.clear();
  }
}
