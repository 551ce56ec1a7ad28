import type { Sandbox } from '../platform/sandbox.ts';
import type { SandboxTiming } from '../platform/timing.ts';
import type { LinkState } from '../wan/index.ts';
import type { ApplierGate } from './applier-gate.ts';
import { pick } from './random.ts';
import type { RunbookRun } from './runbook-starter.ts';

/** The faults that act on the network, a region or its clock. */
export const SIMPLE_KINDS = [
  'kill-region',
  'partition-pair',
  'isolate-region',
  'latency-spike',
  'duplicate-reorder',
  'pause-applier',
  'clock-skew',
  'clock-skew-margin',
] as const;
export type SimpleFaultKind = (typeof SIMPLE_KINDS)[number];

/** The faults a `runbook-during-fault` runs its runbook under. */
export const BASE_KINDS: readonly SimpleFaultKind[] = SIMPLE_KINDS.filter((k) => k !== 'clock-skew-margin');

export type Heal = () => Promise<void> | void;

/** A fault as injected: what it hit, how to undo it, the runbooks it started. */
export interface Injected {
  readonly target: string;
  readonly heal: Heal;
  readonly runbooks?: RunbookRun[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Two different regions, drawn with `random`. */
export function pair(random: () => number, names: readonly string[]): [string, string] {
  const a = pick(random, names);
  return [
    a,
    pick(
      random,
      names.filter((n) => n !== a),
    ),
  ];
}

/**
 * The clock offsets the nemesis sets, from the fencing budget (lib/ownership/fencing-budget.ts):
 * `clock-skew` stays within the declared `maxClockOffsetMs`; `clock-skew-margin` goes beyond it, up to the
 * largest offset the skew margin still covers with a worst-case append in flight
 * (`skewMarginMs - appendTimeoutMs`, exclusive): the lease re-check right before the append must hold
 * the line there too. Past that the budget promises nothing, so the nemesis does not go there.
 */
export function skewBounds(timing: SandboxTiming, kind: 'clock-skew' | 'clock-skew-margin') {
  const { maxClockOffsetMs, skewMarginMs, appendTimeoutMs } = timing.fencing;
  const covered = skewMarginMs - appendTimeoutMs - 1;
  return kind === 'clock-skew'
    ? { min: 0.2 * maxClockOffsetMs, max: maxClockOffsetMs }
    : { min: Math.min(maxClockOffsetMs, covered), max: covered };
}

/** Sets one region's wall clock (HLCs, leases, activeFrom, applier, heartbeats, runbooks) ahead or behind. */
function skewClock(
  sandbox: Sandbox,
  random: () => number,
  kind: 'clock-skew' | 'clock-skew-margin',
): Injected {
  const region = sandbox.region(
    pick(
      random,
      sandbox.regions.map((r) => r.name),
    ),
  );
  const { min, max } = skewBounds(sandbox.timing, kind);
  const magnitude = Math.round(min + (max - min) * random());
  const offset = random() < 0.5 ? -magnitude : magnitude;
  region.wallClock.offsetMs = offset;
  return {
    target: `${region.name} ${offset > 0 ? '+' : ''}${offset} ms`,
    heal: () => {
      region.wallClock.offsetMs = 0;
    },
  };
}

function changeLink(sandbox: Sandbox, [a, b]: [string, string], change: Partial<LinkState>): Injected {
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

/** Injects one fault that acts on the network, a region or its clock; returns its target and how to undo it. */
export async function injectSimple(
  sandbox: Sandbox,
  input: { readonly kind: SimpleFaultKind; readonly random: () => number; readonly gate: ApplierGate },
): Promise<Injected> {
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
    case 'clock-skew':
    case 'clock-skew-margin':
      return skewClock(sandbox, random, input.kind);
  }
}
