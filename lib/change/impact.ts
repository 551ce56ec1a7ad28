import type { Topology } from '../config/index.ts';
import { type AggregateChange, aggregateChanges, regionChanges } from './aggregates.ts';
import { type RunbookStep, runbookSteps } from './runbooks.ts';
import { type Impact, type SettingChange, settingChanges } from './settings.ts';

/** Exit codes of `multiactive plan`, for a CI gate. */
export const PLAN_EXIT = { none: 0, approval: 1, refused: 2 } as const;

/** A month before and after the change, for the same traffic at the same prices. */
export interface CostDelta {
  readonly profile: string;
  readonly pricesAsOf: string;
  readonly before: number;
  readonly after: number;
  readonly byService: Readonly<Record<string, { readonly before: number; readonly after: number }>>;
}

/** A cost increase beyond this share of the month needs approval on its own. */
export const COST_APPROVAL_SHARE = 0.1;

export interface ChangeImpact {
  readonly env: string;
  /** What the topology is compared with (a git ref), and what it is (the working tree). */
  readonly against: string;
  readonly current: string;
  readonly verdict: Impact;
  readonly exitCode: (typeof PLAN_EXIT)[Impact];
  /** Why the verdict is what it is, most serious first. */
  readonly reasons: readonly string[];
  readonly aggregates: readonly AggregateChange[];
  readonly regions: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly settings: readonly SettingChange[];
  /** Data that must move between partitions or regions (a refusal unless a migration is named). */
  readonly dataMove: {
    readonly required: boolean;
    readonly why: readonly string[];
    readonly migration?: string;
  };
  readonly cost?: CostDelta;
  readonly runbooks: readonly RunbookStep[];
}

const RANK: Readonly<Record<Impact, number>> = { none: 0, approval: 1, refused: 2 };

function dataMove(input: {
  settings: readonly SettingChange[];
  hashChanged: boolean;
  partitions: number;
}): string[] {
  const why: string[] = [];
  const partitions = input.settings.find((s) => s.path === 'partitions');
  if (partitions)
    why.push(
      `partitions ${String(partitions.before)} -> ${String(partitions.after)}: every key hashes to another partition, so every user is re-homed and every core log moves`,
    );
  if (input.hashChanged)
    why.push(
      `the partition hash (lib/ownership/partition.ts partitionOf) maps keys differently over ${input.partitions} partitions: every user is re-homed`,
    );
  return why;
}

/** An aggregate's change as a reason; its refusal (archived stubs left behind a tier move) needs a named migration. */
function aggregateReason(
  change: AggregateChange,
  text: string,
  migration: string | undefined,
): { impact: Impact; text: string } {
  if (text !== change.refusal) return { impact: change.impact === 'none' ? 'none' : 'approval', text };
  return migration
    ? { impact: 'approval', text: `${text} (migration: ${migration})` }
    : { impact: 'refused', text: `${text}; refused unless a migration is planned (--migration)` };
}

/**
 * The impact of moving an environment from `before` to `after`: aggregate types whose tier, consistency,
 * conflict policy or projected RPO/RTO change, regions added or removed, other settings, the data that
 * must move, the cost delta and the runbooks to run in order; the verdict a CI gate reads from the exit
 * code (0 no impact, 1 impact needing approval, 2 refused: data must move and no migration is named).
 * @example changeImpact({ before, after, against: 'main', current: 'working tree' }).exitCode
 */
export function changeImpact(input: {
  before: Topology;
  after: Topology;
  against: string;
  current: string;
  cost?: CostDelta;
  /** The partition hash of `after`'s code maps keys differently from `before`'s. */
  hashChanged?: boolean;
  /** A migration plan the change names (a ticket, a document): data may move. */
  migration?: string;
}): ChangeImpact {
  const { before, after } = input;
  const aggregates = aggregateChanges(before, after);
  const regions = regionChanges(before, after);
  const settings = settingChanges(before, after);
  const move = dataMove({ settings, hashChanged: input.hashChanged === true, partitions: after.partitions });
  const reasons: Array<{ impact: Impact; text: string }> = [
    ...move.map((text) => ({
      impact: input.migration ? ('approval' as const) : ('refused' as const),
      text: input.migration
        ? `${text} (migration: ${input.migration})`
        : `${text}; refused unless a migration is planned (--migration)`,
    })),
    ...aggregates.flatMap((a) => a.changes.map((text) => aggregateReason(a, text, input.migration))),
    ...regions.added.map((r) => ({ impact: 'approval' as const, text: `region ${r} is added` })),
    ...regions.removed.map((r) => ({ impact: 'approval' as const, text: `region ${r} is removed` })),
    ...settings
      .filter((s) => s.impact !== 'none' && s.path !== 'partitions')
      .map((s) => ({
        impact: s.impact,
        text: `${s.path}: ${JSON.stringify(s.before)} -> ${JSON.stringify(s.after)} (${s.note})`,
      })),
  ];
  if (input.cost && input.cost.after > input.cost.before * (1 + COST_APPROVAL_SHARE))
    reasons.push({
      impact: 'approval',
      text: `the month costs ${Math.round((100 * (input.cost.after - input.cost.before)) / input.cost.before)} % more`,
    });
  const verdict = reasons.reduce<Impact>(
    (worst, r) => (RANK[r.impact] > RANK[worst] ? r.impact : worst),
    'none',
  );
  const runbooks = runbookSteps({ env: after.name, aggregates, regions, settings, after });
  const deploy: RunbookStep = {
    phase: 'deploy',
    action: 'deploy the new topology',
    command: `npx cdk deploy --all -c env=${after.name}`,
    why: 'foundations, then cells, then the global stack (the stacks depend on each other in that order)',
  };
  const steps =
    verdict === 'none' || runbooks.some((s) => s.phase === 'deploy')
      ? runbooks
      : insertDeploy(runbooks, deploy);
  return {
    env: after.name,
    against: input.against,
    current: input.current,
    verdict,
    exitCode: PLAN_EXIT[verdict],
    reasons: [...reasons].sort((a, b) => RANK[b.impact] - RANK[a.impact]).map((r) => r.text),
    aggregates,
    regions,
    settings,
    dataMove: {
      required: move.length > 0,
      why: move,
      ...(input.migration ? { migration: input.migration } : {}),
    },
    ...(input.cost ? { cost: input.cost } : {}),
    runbooks: steps,
  };
}

function insertDeploy(steps: readonly RunbookStep[], deploy: RunbookStep): RunbookStep[] {
  const after = steps.findIndex((s) => s.phase === 'after deploy');
  return after < 0 ? [...steps, deploy] : [...steps.slice(0, after), deploy, ...steps.slice(after)];
}
