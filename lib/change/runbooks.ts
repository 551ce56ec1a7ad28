import type { Topology } from '../config/index.ts';
import type { AggregateChange } from './aggregates.ts';
import type { SettingChange } from './settings.ts';

/** When a step runs, relative to deploying the new topology. */
export type Phase = 'before deploy' | 'deploy' | 'after deploy';

/** One step of the change, with the command that does it. */
export interface RunbookStep {
  readonly phase: Phase;
  readonly action: string;
  readonly command?: string;
  readonly why: string;
}

const PHASES: readonly Phase[] = ['before deploy', 'deploy', 'after deploy'];

/** What a tier change of `change.type` asks for. */
function tierSteps(change: AggregateChange): RunbookStep[] {
  const { type, before, after } = change;
  if (!before || !after || before.tier === after.tier) return [];
  const steps: RunbookStep[] = [];
  if (before.tier !== 'core' && before.conflict === 'manual')
    steps.push({
      phase: 'before deploy',
      action: `resolve every open conflict of ${type}`,
      command:
        'multiactive conflicts list, then multiactive conflicts resolve <type> <id> --choose <eventId>',
      why: 'a core log extends one head: an aggregate frozen with two heads cannot take core writes',
    });
  steps.push({
    phase: 'before deploy',
    action: 'repair every partition',
    command: 'multiactive runbook repair --env <env>',
    why: `every region must hold the same ${type} log and rows before ${after.tier === 'core' ? 'its first core write extends them' : 'writes of it are accepted everywhere'}`,
  });
  if (after.tier === 'core')
    steps.push({
      phase: 'deploy',
      action: `deploy every region in one change window; hold ${type} writes outside the home regions meanwhile`,
      why: `a region still on the old code accepts ${type} writes anywhere: one concurrent with a core write at the home forks its log (the losing branch goes to the manual queue)`,
    });
  steps.push({
    phase: 'after deploy',
    action: 'repair again, then check readiness',
    command: 'multiactive runbook repair --env <env> && multiactive readiness --env <env>',
    why: `writes of ${type} taken during the rollout converge; readiness checks the new tier's objectives`,
  });
  return steps;
}

function conflictSteps(change: AggregateChange): RunbookStep[] {
  const { type, before, after } = change;
  if (!before || !after || before.conflict === after.conflict || before.conflict !== 'manual') return [];
  return [
    {
      phase: 'before deploy',
      action: `resolve every open conflict of ${type}`,
      command:
        'multiactive conflicts list, then multiactive conflicts resolve <type> <id> --choose <eventId>',
      why: `the ${after.conflict} policy does not read the manual queue: conflicts left there stay frozen`,
    },
  ];
}

function regionSteps(regions: { added: string[]; removed: string[] }, after: Topology): RunbookStep[] {
  const survivor = after.regions[0]?.name ?? '<region>';
  return [
    ...regions.removed.flatMap((r): RunbookStep[] => [
      {
        phase: 'before deploy',
        action: `move every partition homed in ${r} to a region that stays`,
        command: `multiactive runbook switchover --from ${r} --to ${survivor} --env <env>`,
        why: `${r}'s core partitions must have a home that stays (planned switchover: RPO 0)`,
      },
    ]),
    ...regions.added.flatMap((r): RunbookStep[] => [
      {
        phase: 'deploy',
        action: `deploy ${r}'s foundation and cell, then the other regions and the global stack`,
        command: 'npx cdk deploy --all -c env=<env>',
        why: 'every region forwards to every peer bus and health-checks every region',
      },
      {
        phase: 'after deploy',
        action: `backfill ${r} with every region's history`,
        command: `multiactive runbook repair --peers ${[...after.regions.map((x) => x.name)].join(',')} --env <env>`,
        why: `${r} starts empty: Repair replays what it lacks`,
      },
    ]),
  ];
}

function settingSteps(settings: readonly SettingChange[]): RunbookStep[] {
  if (!settings.some((s) => s.impact !== 'none')) return [];
  return [
    {
      phase: 'after deploy',
      action: 'check readiness against the objectives',
      command: 'multiactive readiness --env <env>',
      why: settings
        .filter((s) => s.impact !== 'none')
        .map((s) => s.path)
        .join(', '),
    },
  ];
}

/**
 * The steps a change asks for, in order: what must hold before the deploy (conflicts resolved, partitions
 * moved off a leaving region, logs converged), the deploy, and what follows (backfill, repair, readiness).
 * Identical steps are listed once.
 */
export function runbookSteps(input: {
  env: string;
  aggregates: readonly AggregateChange[];
  regions: { added: string[]; removed: string[] };
  settings: readonly SettingChange[];
  after: Topology;
}): RunbookStep[] {
  const all = [
    ...input.aggregates.flatMap((c) => [...conflictSteps(c), ...tierSteps(c)]),
    ...regionSteps(input.regions, input.after),
    ...settingSteps(input.settings),
  ].map((s) => ({ ...s, ...(s.command ? { command: s.command.replaceAll('<env>', input.env) } : {}) }));
  const seen = new Set<string>();
  const unique = all.filter((s) => {
    const key = `${s.phase}|${s.action}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return PHASES.flatMap((phase) => unique.filter((s) => s.phase === phase));
}
