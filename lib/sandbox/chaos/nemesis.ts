import type { Topology } from '../../config/index.ts';
import { partitionOf } from '../../ownership/index.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import type { ApplierGate } from './applier-gate.ts';
import { hasMultiRegionMinority, injectMajority, MAJORITY_KINDS } from './majority-faults.ts';
import { pick } from './random.ts';
import {
  failoverDuringSwitchover,
  forkedOrphanFailback,
  killDuringSwitchover,
  quorumCopyElsewhere,
  runbookDuringFault,
} from './runbook-faults.ts';
import type { RunbookRun, RunbookStarter } from './runbook-starter.ts';
import { type Injected, injectSimple, SIMPLE_KINDS, sleep } from './simple-faults.ts';

/**
 * The faults the nemesis draws from (README "Chaos testing" describes each). The simple ones act on the
 * network, a region or its clock; the composite ones run runbooks inside a fault: a runbook during one
 * of the simple faults, a kill during a Switchover, a Failover while a Switchover runs, a Failover of an
 * isolated home then a Failback (which forks the log under `ack: local`), and a Failover after the old
 * home's quorum copies went to a survivor other than the new home (`ack: quorum` only). With five regions
 * or more, two more take a minority of two regions or more down, or split it off (majority-faults.ts).
 */
export const FAULT_KINDS = [
  ...SIMPLE_KINDS,
  ...MAJORITY_KINDS,
  'runbook-during-fault',
  'kill-during-switchover',
  'failover-during-switchover',
  'forked-orphan-failback',
  'quorum-copy-elsewhere',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * The faults that make sense for a topology: the quorum-copy one needs `core.ack: quorum`; the minority
 * ones need five regions or more (with three or four, the largest minority is one region); a build without
 * fencing (`fencing: false`) draws no runbook fault (RUNBOOK_KINDS).
 */
export function faultKindsFor(topology: Topology, options: { fencing?: boolean } = {}): FaultKind[] {
  const minority = hasMultiRegionMinority(topology.regions.length);
  return FAULT_KINDS.filter(
    (k) =>
      (k !== 'quorum-copy-elsewhere' || topology.core.ack === 'quorum') &&
      (minority || !(MAJORITY_KINDS as readonly string[]).includes(k)) &&
      (options.fencing !== false || !(RUNBOOK_KINDS as readonly string[]).includes(k)),
  );
}

/**
 * The faults that run runbooks. A test build without fencing (every region home of every partition) has no
 * single writer for them to move: its Failbacks fail on the forks it makes by construction (QueueCoreOrphans
 * meets another region's event at a seq), each after the state machine's retries, and the run would spend
 * minutes starting them again; so that build draws none of them (its checkers still see every region writing).
 */
export const RUNBOOK_KINDS = [
  'runbook-during-fault',
  'kill-during-switchover',
  'failover-during-switchover',
  'forked-orphan-failback',
  'quorum-copy-elsewhere',
] as const satisfies readonly FaultKind[];

/** Faults not injected yet (none left). */
export const FAULTS_TODO: readonly string[] = [];

/** One fault as injected, for the report. */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly target: string;
  /** Ms since the run started. */
  readonly at: number;
  readonly healedAt: number;
  /** Runbook executions started in this fault's window (and the Failback after a revive). */
  readonly runbooks?: RunbookRun[];
}

/** What `inject` needs besides the sandbox. */
export interface InjectInput {
  readonly kind: FaultKind;
  readonly random: () => number;
  readonly gate: ApplierGate;
  readonly runbooks: RunbookStarter;
  /** Partitions worth a Switchover (those of the workload's accounts). */
  readonly partitions: readonly number[];
}

/** Injects one fault of `kind`; returns its target, how to undo it and the runbooks it started. */
export async function inject(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  switch (input.kind) {
    case 'runbook-during-fault':
      return runbookDuringFault(sandbox, input);
    case 'kill-during-switchover':
      return killDuringSwitchover(sandbox, input);
    case 'failover-during-switchover':
      return failoverDuringSwitchover(sandbox, input);
    case 'forked-orphan-failback':
      return forkedOrphanFailback(sandbox, input);
    case 'quorum-copy-elsewhere':
      return quorumCopyElsewhere(sandbox, input);
    case 'kill-minority':
    case 'split-minority':
      return injectMajority(sandbox, { kind: input.kind, random: input.random });
    default:
      return injectSimple(sandbox, { ...input, kind: input.kind });
  }
}

/** The partitions of a workload's account ids. */
export function partitionsOf(sandbox: Sandbox, ids: readonly string[]): number[] {
  return [...new Set(ids.map((id) => partitionOf(id, sandbox.topology.partitions)))];
}

/** Runs the nemesis until `until`: a fault drawn from `kinds`, held for a while, healed, a quiet gap, again. */
export async function runNemesis(
  sandbox: Sandbox,
  input: {
    readonly random: () => number;
    readonly kinds: readonly FaultKind[];
    readonly until: number;
    readonly started: number;
    readonly faults: InjectedFault[];
    readonly gate: ApplierGate;
    readonly runbooks: RunbookStarter;
    readonly partitions: readonly number[];
    readonly log: (l: string) => void;
  },
): Promise<void> {
  const { random } = input;
  while (Date.now() + 3_000 < input.until) {
    const kind = pick(random, input.kinds);
    const at = Date.now() - input.started;
    const fault = await inject(sandbox, { ...input, kind });
    input.log(`nemesis: ${kind} ${fault.target}`);
    await sleep(Math.min(1_500 + random() * 3_000, Math.max(0, input.until - Date.now())));
    await fault.heal();
    input.faults.push({
      kind,
      target: fault.target,
      at,
      healedAt: Date.now() - input.started,
      ...(fault.runbooks ? { runbooks: fault.runbooks } : {}),
    });
    await sleep(500 + random() * 1_500);
  }
}
