import { type AggregateConfig, regionNames, type Tier, type Topology } from '../config/index.ts';
import { bugEnabled } from '../faults/switches.ts';
import { awsTimers, projectObjectives } from '../ops/objectives.ts';
import type { Impact } from './settings.ts';

/** How an aggregate type behaves under a topology. */
export interface TypeView {
  readonly tier: Tier;
  readonly conflict: AggregateConfig['conflict'];
  /** Where writes are accepted and what concurrent writes become. */
  readonly consistency: string;
  /** Projected on a region loss (configuration timers, degrade threshold as the lag). */
  readonly rtoSeconds: number;
  readonly rpoSeconds: number;
  /** The tier's declared objectives, and whether the projection meets them. */
  readonly declared: { readonly rtoSeconds: number; readonly rpoSeconds: number };
  readonly meets: boolean;
}

export interface AggregateChange {
  readonly type: string;
  readonly before?: TypeView;
  readonly after?: TypeView;
  /** What changes, in words. */
  readonly changes: readonly string[];
  readonly impact: Impact;
  /** The change that refuses it (one of `changes`): data must move first unless a migration is named. */
  readonly refusal?: string;
}

/** The consistency a tier gives, in the words of the README's tier table. */
export function consistencyOf(topology: Topology, aggregate: AggregateConfig): string {
  if (aggregate.tier === 'core')
    return `single writer per partition (its home region), fenced by epochs; acknowledged ${topology.core.ack === 'quorum' ? 'on a majority of regions' : 'locally'}`;
  if (aggregate.tier === 'important')
    return `writable in every region; concurrent writes detected causally, resolved by ${aggregate.conflict}`;
  return 'writable in every region; append-only, replicated in batches, may be lost with a region';
}

function viewOf(topology: Topology, aggregate: AggregateConfig): TypeView {
  const projection = projectObjectives(topology, awsTimers(topology), { maxLagMs: undefined }).find(
    (p) => p.tier === aggregate.tier,
  )!;
  return {
    tier: aggregate.tier,
    conflict: aggregate.conflict,
    consistency: consistencyOf(topology, aggregate),
    rtoSeconds: projection.rtoSeconds,
    rpoSeconds: projection.rpoSeconds,
    declared: projection.declared,
    meets: projection.met,
  };
}

/** What a tier change does to the log already written (core logs are keyed by sequence, others by HLC). */
function logFormat(type: string, from: Tier, to: Tier): string[] {
  if ((from === 'core') === (to === 'core')) return [];
  return to === 'core'
    ? [
        `${type}'s events written so far keep their HLC-ordered keys; its core log starts at seq 1 on top of its projection row (the head every region must share: repair first)`,
      ]
    : [
        `${type}'s core log (sequence keys) stays; its new events are HLC-ordered after it, and conflicts become possible`,
      ];
}

function describe(type: string, a: TypeView, b: TypeView): string[] {
  const changes: string[] = [];
  if (a.tier !== b.tier)
    changes.push(`${type} moves from ${a.tier} to ${b.tier}`, ...logFormat(type, a.tier, b.tier));
  if (a.consistency !== b.consistency) changes.push(`consistency: ${a.consistency} -> ${b.consistency}`);
  if (a.conflict !== b.conflict && b.tier !== 'core')
    changes.push(`conflict policy ${a.conflict} -> ${b.conflict}`);
  if (a.rtoSeconds !== b.rtoSeconds) changes.push(`projected RTO ${a.rtoSeconds} s -> ${b.rtoSeconds} s`);
  if (a.rpoSeconds !== b.rpoSeconds) changes.push(`projected RPO ${a.rpoSeconds} s -> ${b.rpoSeconds} s`);
  if (b.meets !== a.meets)
    changes.push(b.meets ? 'now meets its declared objectives' : 'no longer meets its declared objectives');
  return changes;
}

/** What a change of an aggregate type's data lifecycle does (README "Data lifecycle"). */
function lifecycleChanges(a: AggregateConfig['lifecycle'], b: AggregateConfig['lifecycle']): string[] {
  const changes: string[] = [];
  const every = (n: number | undefined) => (n === undefined ? 'none' : `every ${n} events`);
  if (a?.snapshotEvery !== b?.snapshotEvery)
    changes.push(
      `snapshots ${every(a?.snapshotEvery)} -> ${every(b?.snapshotEvery)}` +
        (b?.snapshotEvery === undefined ? ' (existing snapshots stay, unused after the next rebuild)' : ''),
    );
  const days = (n: number | undefined) => (n === undefined ? 'none' : `${n} days`);
  if (a?.retentionDays !== b?.retentionDays) {
    const shorter = b?.retentionDays !== undefined && (a?.retentionDays ?? Infinity) > b.retentionDays;
    changes.push(
      `retention ${days(a?.retentionDays)} -> ${days(b?.retentionDays)}` +
        (shorter
          ? ': the next archive pass moves more events out of the hot table, and Repair stops comparing them'
          : ': archived events stay in the archive (restore with fullHistory)'),
    );
  }
  if (a?.archive !== b?.archive)
    changes.push(
      b?.archive === 'keep'
        ? "archive kept ('keep'): the archive stays wired for the stubs in the logs, nothing new is archived"
        : "archive no longer kept: without retentionDays no archive is wired for this type's stubs",
    );
  return changes;
}

/**
 * A core type with a retention (or `lifecycle.archive: 'keep'`) leaving core: its logs may hold archived
 * stubs (payloads in the archive), which no important or ordinary applier can fold (they fold the whole log,
 * never from a snapshot or the archive: `ArchivedEventInFoldError`). And a core type dropping its retention
 * without `archive: 'keep'`: the stubs stay, the archive would not (the last retention dropped wires none),
 * and a later plan could move the type off core unrefused. Both refused unless a migration is named
 * (`changeImpact`). Bug switch `plan-forgets-archived-stubs`: the drop is approved, the flag not counted.
 */
function archivedStubsLeftBehind(a: AggregateConfig, b: AggregateConfig): string | undefined {
  const retention = a.lifecycle?.retentionDays;
  const kept = a.lifecycle?.archive === 'keep' && !bugEnabled('plan-forgets-archived-stubs');
  if (a.tier !== 'core') return undefined;
  if (b.tier !== 'core' && (retention !== undefined || kept))
    return (
      `${a.type} leaves core with ${retention !== undefined ? `lifecycle.retentionDays ${retention}` : "lifecycle.archive 'keep'"}: ` +
      `its logs may hold archived stubs (payloads in the archive) that the ${b.tier} appliers cannot fold; keep it ` +
      'core, or restore its archived events into the log first (fullHistory reads them)'
    );
  // Once a type had a retention, its archive must stay readable: the stubs stay in its logs.
  if (
    b.tier === 'core' &&
    (retention !== undefined || kept) &&
    b.lifecycle?.retentionDays === undefined &&
    b.lifecycle?.archive !== 'keep' &&
    !bugEnabled('plan-forgets-archived-stubs')
  )
    return (
      `${a.type} drops ${retention !== undefined ? `lifecycle.retentionDays ${retention}` : "lifecycle.archive 'keep'"} ` +
      "without lifecycle.archive 'keep': its logs may hold archived stubs whose payloads only the archive holds, " +
      "and nothing would keep that archive wired; set lifecycle.archive: 'keep' (the archive stays readable, " +
      'nothing new is archived), or restore its archived events into the log first (fullHistory reads them)'
    );
  return undefined;
}

/** Each aggregate type of either topology: its view before and after, and what changed. */
export function aggregateChanges(before: Topology, after: Topology): AggregateChange[] {
  const types = [...new Set([...before.aggregates, ...after.aggregates].map((a) => a.type))];
  return types.map((type): AggregateChange => {
    const a = before.aggregates.find((x) => x.type === type);
    const b = after.aggregates.find((x) => x.type === type);
    const was = a ? viewOf(before, a) : undefined;
    const now = b ? viewOf(after, b) : undefined;
    if (!was) return { type, after: now!, changes: [`${type} is added as ${now!.tier}`], impact: 'approval' };
    if (!now)
      return {
        type,
        before: was,
        changes: [`${type} is removed: its events and rows stay in the tables, no longer served`],
        impact: 'approval',
      };
    const changes = [...describe(type, was, now), ...lifecycleChanges(a!.lifecycle, b!.lifecycle)];
    const stubs = archivedStubsLeftBehind(a!, b!);
    if (stubs)
      return {
        type,
        before: was,
        after: now,
        changes: [stubs, ...changes],
        impact: 'refused',
        refusal: stubs,
      };
    return { type, before: was, after: now, changes, impact: changes.length > 0 ? 'approval' : 'none' };
  });
}

/** Regions added and removed. */
export function regionChanges(before: Topology, after: Topology): { added: string[]; removed: string[] } {
  const a = regionNames(before);
  const b = regionNames(after);
  return { added: b.filter((r) => !a.includes(r)), removed: a.filter((r) => !b.includes(r)) };
}
