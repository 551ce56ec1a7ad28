import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { changeImpact } from '../../../lib/change/index.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { hasRetention, s3RegionArchives } from '../../../lib/lifecycle/index.ts';

/**
 * Review 4 of the retention/archive work (on main). Fix attacked: "`multiactive plan` refuses moving a
 * retained core type off core without a migration" (`archivedStubsLeftBehind`, lib/change/aggregates.ts).
 * The refusal looks at the BEFORE topology's `lifecycle.retentionDays` only; the stubs it protects live in the
 * logs, not in the config. Removing `retentionDays` is asked approval only, with the text "archived events
 * stay in the archive (restore with fullHistory)", and nothing remembers that the type was archived.
 *
 * Interleaving A (two plans, two deploys): core + retentionDays 30 (the archiver stubbed old events) ->
 * core without retentionDays (approval) -> important (approval: the type "has no retention"). The important
 * appliers then throw `ArchivedEventInFoldError` at every re-materialization of an archived aggregate (not
 * poison: retried, then the lane's DLQ), and its API reads/writes answer 503, until someone restores the
 * archive by hand: exactly what the one-step refusal was built to prevent.
 *
 * Interleaving B (one plan): the only type with a retention drops it. `hasRetention(after)` is false, so the
 * deployed build wires NO archive anywhere (`s3RegionArchives` answers undefined for every region; cdk: no
 * bucket grants, no ARCHIVE_BUCKET; sandbox: no directory): the landed retry, the row rebuild, the quorum
 * copy's whole copies, Repair's archive fallback and `fullHistory` lose their reader for the stubs already in
 * the logs, while the plan says "restore with fullHistory" and asks approval only.
 */

const prod = bank.topology('prod');

function accountAs(
  lifecycle: Record<string, number | string> | undefined,
  tier: 'core' | 'important' = 'core',
): Topology {
  return parseTopology({
    ...prod,
    aggregates: prod.aggregates.map((a) =>
      a.type !== 'account'
        ? a
        : tier === 'important'
          ? { type: 'account', tier, conflict: 'lww' as const }
          : { ...a, ...(lifecycle ? { lifecycle } : { lifecycle: undefined }) },
    ),
  });
}

const plan = (before: Topology, after: Topology) =>
  changeImpact({ before, after, against: 'main', current: 'working tree' });

describe('review-archiver-4: the plan refusal keyed on retentionDays in the config', () => {
  const retained = accountAs({ snapshotEvery: 100, retentionDays: 30 });
  const dropped = accountAs({ snapshotEvery: 100 });
  const important = accountAs(undefined, 'important');

  it('control: the one-step move (core + retention -> important) is refused', () => {
    expect(plan(retained, important).verdict).toBe('refused');
  });

  it('MEDIUM: the same move in two steps (drop retentionDays, then leave core) is never refused', () => {
    const first = plan(retained, dropped);
    const second = plan(dropped, important);
    expect(first.reasons.join('\n')).toMatch(
      /retention 30 days -> none: archived events stay in the archive/,
    );
    expect(second.reasons).toContain('account moves from core to important');
    // Across the two plans, the stubs left in account's logs must stop one of them without a migration.
    expect([first.verdict, second.verdict]).toContain('refused');
  });

  it('MEDIUM: dropping the last retention is approved though the build then wires no archive reader at all', () => {
    expect(hasRetention(retained)).toBe(true);
    expect(hasRetention(dropped)).toBe(false);
    const verdict = plan(retained, dropped).verdict;
    const archiveAfter = s3RegionArchives({
      topology: dropped,
      app: 'bank',
      clientOf: () => ({ send: async () => ({}) }) as never,
    })(prod.regions[0]!.name);
    // Either the plan stops it, or the archive the plan points to ("restore with fullHistory") is still wired.
    const archiveWired = archiveAfter !== undefined;
    expect(
      verdict !== 'approval' || archiveWired,
      `plan verdict ${verdict}, an archive wired after the deploy: ${archiveWired}`,
    ).toBe(true);
  });
});

describe("fix (fix-archiver-4): lifecycle.archive 'keep' keeps a once-retained type's archive wired", () => {
  const retained = accountAs({ snapshotEvery: 100, retentionDays: 30 });
  const dropped = accountAs({ snapshotEvery: 100 });
  const kept = accountAs({ snapshotEvery: 100, archive: 'keep' });
  const important = accountAs(undefined, 'important');
  const wired = (topology: Topology) =>
    s3RegionArchives({
      topology,
      app: 'bank',
      clientOf: () => ({ send: async () => ({}) }) as never,
    })(prod.regions[0]!.name) !== undefined;

  it('dropping retentionDays is refused without the flag, approved with it, the archive still wired', () => {
    const bare = plan(retained, dropped);
    expect(bare.verdict).toBe('refused');
    expect(bare.reasons.join('\n')).toMatch(
      /drops lifecycle.retentionDays 30 without lifecycle.archive 'keep'/,
    );
    expect(
      changeImpact({ before: retained, after: dropped, against: 'main', current: 'wt', migration: 'T-1' })
        .verdict,
    ).toBe('approval');
    expect(plan(retained, kept).verdict).toBe('approval');
    expect({ hasRetention: hasRetention(kept), wired: wired(kept) }).toEqual({
      hasRetention: true,
      wired: true,
    });
  });

  it('a kept type leaving core is refused like a retained one; dropping the flag too', () => {
    expect(plan(kept, important).verdict).toBe('refused');
    expect(plan(kept, important).reasons.join('\n')).toMatch(/leaves core with lifecycle.archive 'keep'/);
    expect(plan(kept, dropped).verdict).toBe('refused');
    expect(plan(kept, kept).verdict).toBe('none');
  });

  it("the parser refuses archive: 'keep' on a non-core type", () => {
    expect(() =>
      parseTopology({
        ...prod,
        aggregates: prod.aggregates.map((a) =>
          a.type !== 'account' ? a : { type: 'account', tier: 'important', lifecycle: { archive: 'keep' } },
        ),
      }),
    ).toThrow(/archive kept for stubs needs the core tier/);
  });

  it('under plan-forgets-archived-stubs the two-step move and the unwired archive come back', async () => {
    await withBug('plan-forgets-archived-stubs', async () => {
      expect([plan(retained, dropped).verdict, plan(dropped, important).verdict]).toEqual([
        'approval',
        'approval',
      ]);
      expect(plan(kept, important).verdict).toBe('approval');
      expect(wired(kept)).toBe(false);
    });
  });
});
