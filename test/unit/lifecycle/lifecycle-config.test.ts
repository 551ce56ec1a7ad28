import { describe, expect, it } from 'vitest';
import { aggregateChanges } from '../../../lib/change/aggregates.ts';
import { ConfigError, parseTopology } from '../../../lib/config/index.ts';
import { snapshotDue } from '../../../lib/lifecycle/index.ts';

const topology = (aggregates: unknown[]) => ({
  name: 'x',
  account: '111111111111',
  regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
  aggregates,
});

function issuesOf(input: unknown): string[] {
  try {
    parseTopology(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('lifecycle configuration', () => {
  it('accepts snapshots on a core aggregate type', () => {
    const parsed = parseTopology(
      topology([{ type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100 } }]),
    );
    expect(parsed.aggregates[0]?.lifecycle).toEqual({ snapshotEvery: 100 });
  });

  it('accepts retention on a core aggregate type with snapshots', () => {
    const parsed = parseTopology(
      topology([{ type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100, retentionDays: 365 } }]),
    );
    expect(parsed.aggregates[0]?.lifecycle).toEqual({ snapshotEvery: 100, retentionDays: 365 });
  });

  it('refuses retention on a tier whose log is ordered by HLC', () => {
    expect(
      issuesOf(topology([{ type: 'post', tier: 'ordinary', lifecycle: { retentionDays: 30 } }])),
    ).toEqual([
      'aggregates[0].lifecycle.retentionDays: needs snapshotEvery: only events covered by a snapshot may leave the hot table',
      'aggregates[0].lifecycle.retentionDays: retention needs the core tier\'s seq-ordered log; "post" is ordinary',
    ]);
  });

  it('refuses snapshots on a tier whose log is ordered by HLC', () => {
    expect(
      issuesOf(topology([{ type: 'profile', tier: 'important', lifecycle: { snapshotEvery: 50 } }])),
    ).toEqual([
      'aggregates[0].lifecycle.snapshotEvery: snapshots need the core tier\'s seq-ordered log; "profile" is important',
    ]);
  });

  it('refuses retention without snapshots, and a snapshot interval below 2', () => {
    expect(issuesOf(topology([{ type: 'a', tier: 'core', lifecycle: { retentionDays: 30 } }]))).toEqual([
      'aggregates[0].lifecycle.retentionDays: needs snapshotEvery: only events covered by a snapshot may leave the hot table',
    ]);
    expect(issuesOf(topology([{ type: 'a', tier: 'core', lifecycle: { snapshotEvery: 1 } }]))[0]).toMatch(
      /^aggregates\[0\]\.lifecycle\.snapshotEvery: /,
    );
  });
});

describe('snapshotDue', () => {
  it('is due when an append crosses a multiple of the interval, even by jumping over it', () => {
    expect(snapshotDue(100, 99, 100)).toBe(true);
    expect(snapshotDue(100, 98, 102)).toBe(true);
    expect(snapshotDue(100, 100, 101)).toBe(false);
    expect(snapshotDue(100, 101, 199)).toBe(false);
    expect(snapshotDue(undefined, 99, 100)).toBe(false);
  });
});

describe('multiactive plan', () => {
  it('names a lifecycle change of an aggregate type for review', () => {
    const base = topology([{ type: 'account', tier: 'core' }]);
    const before = parseTopology(base);
    const after = parseTopology({
      ...base,
      aggregates: [{ type: 'account', tier: 'core', lifecycle: { snapshotEvery: 100 } }],
    });
    const [change] = aggregateChanges(before, after);
    expect(change?.impact).toBe('approval');
    expect(change?.changes).toEqual(['snapshots none -> every 100 events']);
    expect(aggregateChanges(after, after)[0]?.changes).toEqual([]);
  });
});
