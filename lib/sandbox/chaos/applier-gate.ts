import type { SandboxRegion } from '../platform/region.ts';

/** Holds a region's applier invocations until released (a throttled / paused Lambda). */
export class ApplierGate {
  private paused = new Set<string>();
  private waiters: Array<() => void> = [];

  /** Wraps every region's applier so that it waits while its region is paused. */
  install(regions: readonly SandboxRegion[]): void {
    for (const region of regions) {
      const apply = region.functions.applier;
      Object.assign(region.functions, {
        applier: async (event: Parameters<typeof apply>[0]) => {
          while (this.paused.has(region.name)) await new Promise<void>((r) => this.waiters.push(r));
          return apply(event);
        },
      });
    }
  }

  pause(region: string): void {
    this.paused.add(region);
  }

  resumeAll(): void {
    this.paused.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
