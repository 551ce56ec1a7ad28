import type { SandboxRegion } from '../platform/region.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import type { LinkState } from '../wan/index.ts';
import { pick } from './random.ts';

/** The faults the nemesis draws from. */
export const FAULT_KINDS = [
  'kill-region',
  'partition-pair',
  'isolate-region',
  'latency-spike',
  'duplicate-reorder',
  'pause-applier',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Not injected yet: `clock-skew` (the sandbox builds each region's HybridLogicalClock with Date.now and
 * exposes no wall-clock hook) and `runbook-during-fault` (the runbooks are being implemented in
 * lib/runbooks; until then every runbook task answers "not implemented").
 */
export const FAULTS_TODO = ['clock-skew', 'runbook-during-fault'] as const;

/** One fault as injected, for the report. */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly target: string;
  /** Ms since the run started. */
  readonly at: number;
  readonly healedAt: number;
}

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

type Heal = () => Promise<void> | void;

function pair(random: () => number, names: readonly string[]): [string, string] {
  const a = pick(random, names);
  return [
    a,
    pick(
      random,
      names.filter((n) => n !== a),
    ),
  ];
}

/** Injects one fault of `kind`; returns its target and how to undo it. */
export async function inject(
  sandbox: Sandbox,
  input: { kind: FaultKind; random: () => number; gate: ApplierGate },
): Promise<{ target: string; heal: Heal }> {
  const names = sandbox.regions.map((r) => r.name);
  const { random } = input;
  switch (input.kind) {
    case 'kill-region': {
      const region = pick(random, names);
      await sandbox.killRegion(region);
      return { target: region, heal: () => sandbox.reviveRegion(region) };
    }
    case 'partition-pair': {
      const [a, b] = pair(random, names);
      sandbox.partition(a, b);
      return { target: `${a}|${b}`, heal: () => sandbox.heal() };
    }
    case 'isolate-region': {
      // With three regions this is also the majority/minority split: {x} against the other two.
      const region = pick(random, names);
      sandbox.wan.isolate(region);
      return { target: `${region} vs rest`, heal: () => sandbox.heal() };
    }
    case 'latency-spike':
      return changeLink(sandbox, pair(random, names), { latencyMs: 400 + Math.floor(random() * 800) });
    case 'duplicate-reorder':
      return changeLink(sandbox, pair(random, names), { duplicate: 0.3, reorderMs: 300 });
    case 'pause-applier': {
      const region = pick(random, names);
      input.gate.pause(region);
      return { target: region, heal: () => input.gate.resumeAll() };
    }
  }
}

function changeLink(sandbox: Sandbox, [a, b]: [string, string], change: Partial<LinkState>) {
  const before = { ab: sandbox.wan.link(a, b), ba: sandbox.wan.link(b, a) };
  sandbox.wan.setLink(a, b, change);
  return {
    target: `${a}|${b} ${JSON.stringify(change)}`,
    heal: () => {
      sandbox.wan.setLink(a, b, before.ab, { oneWay: true });
      sandbox.wan.setLink(b, a, before.ba, { oneWay: true });
    },
  };
}
