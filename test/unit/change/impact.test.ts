import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { changeImpact, impactMarkdown } from '../../../lib/change/index.ts';
import { parseTopology, type TopologyInput } from '../../../lib/config/index.ts';

const prod = bank.topology('prod');
const edit = (patch: Partial<TopologyInput>) => parseTopology({ ...prod, ...patch });
const withProfile = (profile: TopologyInput['aggregates'][number]) =>
  edit({ aggregates: prod.aggregates.map((a) => (a.type === 'profile' ? profile : a)) });
const impactOf = (after: ReturnType<typeof edit>, extra: Partial<Parameters<typeof changeImpact>[0]> = {}) =>
  changeImpact({ before: prod, after, against: 'main', current: 'working tree', ...extra });

describe('change impact', () => {
  it('finds no impact when nothing that matters changed', () => {
    const impact = impactOf(edit({ monitoring: { ...prod.monitoring, alarmEmail: 'ops@example.com' } }));
    expect(impact).toMatchObject({ verdict: 'none', exitCode: 0, reasons: [], runbooks: [] });
    expect(impact.settings.map((s) => [s.path, s.impact])).toEqual([['monitoring.alarmEmail', 'none']]);
  });

  it('asks approval for profile moving from important to core, with its new consistency and RPO, and repair before the deploy', () => {
    const impact = impactOf(withProfile({ type: 'profile', tier: 'core', conflict: 'lww' }));
    expect(impact).toMatchObject({ verdict: 'approval', exitCode: 1 });
    const profile = impact.aggregates.find((a) => a.type === 'profile')!;
    expect(profile.before).toMatchObject({ tier: 'important', rpoSeconds: 5 });
    expect(profile.after).toMatchObject({ tier: 'core', rpoSeconds: 0 });
    expect(profile.after?.consistency).toMatch(/single writer per partition/);
    expect(impact.reasons[0]).toBe('profile moves from important to core');
    expect(impact.runbooks.map((s) => `${s.phase}: ${s.action}`)).toEqual([
      'before deploy: repair every partition',
      'deploy: deploy every region in one change window; hold profile writes outside the home regions meanwhile',
      'after deploy: repair again, then check readiness',
    ]);
    expect(impact.dataMove.required).toBe(false);
    const markdown = impactMarkdown(impact).join('\n');
    expect(markdown).toContain('**Verdict: impact: approval needed** (exit 1)');
    expect(markdown).toContain('| profile | important → **core** |');
  });

  it('resolves the manual queue first when a manual policy goes', () => {
    const before = parseTopology({
      ...prod,
      aggregates: prod.aggregates.map((a) =>
        a.type === 'profile' ? { ...a, conflict: 'manual' as const } : a,
      ),
    });
    const impact = changeImpact({ before, after: prod, against: 'main', current: 'working tree' });
    expect(impact.verdict).toBe('approval');
    expect(impact.runbooks[0]).toMatchObject({
      phase: 'before deploy',
      action: 'resolve every open conflict of profile',
    });
  });

  it('refuses a partition-count change unless a migration is named', () => {
    const refused = impactOf(edit({ partitions: 512 }));
    expect(refused).toMatchObject({ verdict: 'refused', exitCode: 2, dataMove: { required: true } });
    expect(refused.reasons[0]).toMatch(/^partitions 256 -> 512: every key hashes to another partition/);
    const planned = impactOf(edit({ partitions: 512 }), { migration: 'OPS-42' });
    expect(planned).toMatchObject({
      verdict: 'approval',
      exitCode: 1,
      dataMove: { required: true, migration: 'OPS-42' },
    });
  });

  it('refuses moving a core type with a retention off core (archived stubs stay in its logs) unless a migration is named', () => {
    const retained = (tier: 'core' | 'important') =>
      parseTopology({
        ...prod,
        aggregates: prod.aggregates.map((a) =>
          a.type !== 'account'
            ? a
            : tier === 'core'
              ? { ...a, lifecycle: { snapshotEvery: 100, retentionDays: 30 } }
              : { type: 'account', tier, conflict: 'lww' as const },
        ),
      });
    const before = retained('core');
    const refused = changeImpact({ before, after: retained('important'), against: 'main', current: 'wt' });
    expect(refused).toMatchObject({ verdict: 'refused', exitCode: 2 });
    expect(refused.reasons[0]).toMatch(
      /^account leaves core with lifecycle\.retentionDays 30: its logs may hold archived stubs .*keep it core, or restore its archived events.*refused unless a migration is planned/,
    );
    const planned = changeImpact({
      before,
      after: retained('important'),
      against: 'main',
      current: 'wt',
      migration: 'OPS-7',
    });
    expect(planned.verdict).toBe('approval');
    expect(planned.reasons.some((r) => r.endsWith('(migration: OPS-7)'))).toBe(true);
    // Without a retention there are no stubs: the move asks approval only.
    const plain = impactOf(
      edit({
        aggregates: prod.aggregates.map((a) =>
          a.type === 'account' ? { type: 'account', tier: 'important', conflict: 'lww' as const } : a,
        ),
      }),
    );
    expect(plain.verdict).toBe('approval');
  });

  it('refuses a change of the partition hash as it refuses a partition-count change', () => {
    expect(impactOf(prod, { hashChanged: true })).toMatchObject({ verdict: 'refused', exitCode: 2 });
  });

  it('moves partitions off a region that leaves before the deploy', () => {
    const after = edit({
      regions: prod.regions.filter((r) => r.name !== 'ap-southeast-1'),
      latencyMs: { 'us-east-1|eu-west-1': 37 },
    });
    const impact = impactOf(after);
    expect(impact.regions).toEqual({ added: [], removed: ['ap-southeast-1'] });
    expect(impact.runbooks[0]).toMatchObject({
      phase: 'before deploy',
      command: 'multiactive runbook switchover --from ap-southeast-1 --to us-east-1 --env prod',
    });
    expect(impact.runbooks.findIndex((s) => s.phase === 'deploy')).toBeGreaterThan(0);
  });

  it('asks approval for a month more than 10 % dearer, not for one a little dearer', () => {
    const cost = (after: number) => ({
      profile: 'p',
      pricesAsOf: '2026-01-15',
      before: 100,
      after,
      byService: {},
    });
    expect(impactOf(prod, { cost: cost(109) }).verdict).toBe('none');
    expect(impactOf(prod, { cost: cost(111) })).toMatchObject({
      verdict: 'approval',
      reasons: ['the month costs 11 % more'],
    });
  });
});
