import type { Sandbox } from '../platform/sandbox.ts';
import type { Injected } from './simple-faults.ts';

/**
 * Faults that only differ from the single-region ones with five regions or more: a minority of two or more
 * regions down or cut off at once. With three regions the largest minority is one region, which
 * `kill-region` and `isolate-region` already are.
 */
export const MAJORITY_KINDS = ['kill-minority', 'split-minority'] as const;
export type MajorityFaultKind = (typeof MAJORITY_KINDS)[number];

/** The largest number of regions that can be away while the others still form a majority: 2 of 5. */
export function largestMinority(regions: number): number {
  return Math.floor((regions - 1) / 2);
}

/** Whether the topology's region count gives the majority faults a minority larger than one region. */
export function hasMultiRegionMinority(regions: number): boolean {
  return largestMinority(regions) >= 2;
}

/** `count` distinct regions drawn with `random` (in drawing order). */
export function drawRegions(random: () => number, names: readonly string[], count: number): string[] {
  const left = [...names];
  const drawn: string[] = [];
  while (drawn.length < count && left.length > 0)
    drawn.push(left.splice(Math.floor(random() * left.length), 1)[0]!);
  return drawn;
}

/**
 * `kill-minority`: the largest minority (2 of 5) killed at once. The other regions are still a majority:
 * their homes' quorum-acknowledged core writes keep succeeding, each with the copies of two live peers.
 * `split-minority`: the WAN split in two, the largest minority on one side; every region stays up. A home
 * on the minority side reaches one peer: its quorum-acknowledged core writes are answered 503 (three of
 * five out of reach), those of the majority side go on. Targets name the minority only: the outage
 * windows (outages.ts) scope to the regions a target names.
 */
export async function injectMajority(
  sandbox: Sandbox,
  input: { readonly kind: MajorityFaultKind; readonly random: () => number },
): Promise<Injected> {
  const names = sandbox.regions.map((r) => r.name);
  const minority = drawRegions(input.random, names, largestMinority(names.length));
  if (input.kind === 'kill-minority') {
    for (const region of minority) await sandbox.killRegion(region);
    return {
      target: minority.join('+'),
      heal: async () => {
        for (const region of minority) await sandbox.reviveRegion(region);
      },
    };
  }
  const majority = names.filter((n) => !minority.includes(n));
  for (const a of minority) for (const b of majority) sandbox.partition(a, b);
  return { target: `${minority.join('+')} vs rest`, heal: () => sandbox.heal() };
}
