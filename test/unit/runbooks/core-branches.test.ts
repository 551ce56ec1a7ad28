import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { chainedRun, extendsHead } from '../../../lib/commands/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { winningBranch } from '../../../lib/runbooks/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

let wall = 1_800_000_000_000;

/** A branch of `n` events on top of `base`, written by `origin` at `epoch`. */
function branch(base: readonly EventEnvelope[], n: number, origin: string, epoch: number): EventEnvelope[] {
  const out = [...base];
  for (let i = 0; i < n; i++) {
    const before = out.at(-1);
    out.push(
      sampleEnvelope({
        seq: out.length + 1,
        origin,
        epoch,
        prev: before?.hlc ?? null,
        hlc: encodeHlc({ wall: wall++, logical: 0, region: origin }),
      }),
    );
  }
  return out;
}

const ids = (events: readonly EventEnvelope[]) => events.map((e) => e.eventId);

describe("winningBranch: the current home's branch wins", () => {
  const base = branch([], 2, 'us-east-1', 1);
  const old = branch(base, 2, 'us-east-1', 1);
  const home = branch(base, 1, 'eu-west-1', 3);

  it("keeps the home's log whole over a longer branch of an older epoch", () => {
    const logs = new Map([
      ['us-east-1', old],
      ['eu-west-1', home],
      ['ap-southeast-1', old.slice(0, 3)],
    ]);
    expect(ids(winningBranch(logs, 'eu-west-1'))).toEqual(ids(home));
  });

  it("grows the home's branch by an orphan that extends its head (a seq the home never used)", () => {
    const orphan = branch(base, 1, 'us-east-1', 1);
    const logs = new Map([
      ['us-east-1', orphan],
      ['eu-west-1', base],
    ]);
    expect(ids(winningBranch(logs, 'eu-west-1'))).toEqual(ids(orphan));
  });

  it('without a known home, starts from the strongest head (highest epoch)', () => {
    const logs = new Map([
      ['us-east-1', old],
      ['eu-west-1', home],
    ]);
    expect(ids(winningBranch(logs))).toEqual(ids(home));
  });

  it("is a chain from seq 1 that starts with the home's chained log, for any set of branches", () => {
    const branchArb = fc.record({
      at: fc.nat(3),
      n: fc.integer({ min: 1, max: 3 }),
      epoch: fc.integer({ min: 1, max: 5 }),
      region: fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-1'),
    });
    fc.assert(
      fc.property(fc.array(branchArb, { minLength: 1, maxLength: 4 }), fc.nat(3), (specs, homeIndex) => {
        const logs = new Map<string, EventEnvelope[]>();
        const trunk = branch([], 3, 'us-east-1', 1);
        for (const spec of specs)
          logs.set(spec.region, branch(trunk.slice(0, spec.at), spec.n, spec.region, spec.epoch));
        const regions = [...logs.keys()];
        const home = regions[homeIndex % regions.length]!;
        const winner = winningBranch(logs, home);
        for (const [i, e] of winner.entries()) {
          const head = i === 0 ? { seq: 0, head: null } : { seq: i, head: winner[i - 1]!.hlc };
          expect(extendsHead(head, e)).toBe(true);
        }
        const homeRun = chainedRun({ seq: 0, head: null }, logs.get(home)!);
        expect(ids(winner.slice(0, homeRun.length))).toEqual(ids(homeRun));
      }),
    );
  });
});
