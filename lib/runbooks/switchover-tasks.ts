import { ulid } from 'ulid';
import { bugEnabled } from '../faults/index.ts';
import { EntryChangedError, EpochConflictError } from '../ownership/errors.ts';
import type { PartitionEntry, PartitionMap } from '../ownership/partition-map.ts';
import {
  changedBy,
  fenceReadEntry,
  moveFromFence,
  moveHomeConfirmed,
  movePartitionHome,
  takeOverFence,
  unfencePartition,
} from '../ownership/rehome.ts';
import {
  FenceDeadlineError,
  ProbeFailedError,
  RollbackRefusedError,
  SwitchoverStateError,
} from './errors.ts';
import { mapBounded, TaskInput } from './input.ts';
import { PhaseTimer } from './phase-timer.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import { checkMove, settled, type WatermarkCheck } from './switchover-check.ts';
import type { SourceFence } from './switchover-confirm.ts';
import type { SourceHead } from './switchover-head.ts';
import {
  blockingMissing,
  requestedEntries,
  requestedPartitions,
  type SwitchoverMove,
  type SwitchoverRequest,
  switchoverRequest,
  whySkip,
} from './switchover-plan.ts';
import { probeMove, rowsCompared } from './switchover-probe.ts';
import { type RollbackMove, type RollbackOutcome, rollbackMove } from './switchover-rollback.ts';

/**
 * The execution's run id: `$.run.id` (the machine's first state draws it, States.UUID()), else the one
 * Fence drew (`$.fence.runId`, for callers that run the tasks without the machine).
 */
function runOf(raw: Record<string, unknown>): string | undefined {
  const fromMachine = (raw.run as { id?: unknown } | undefined)?.id;
  const fromFence = (raw.fence as { runId?: unknown } | undefined)?.runId;
  const id = fromMachine ?? fromFence;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** CheckWatermark's in-task poll when the deps do not say (RunbookDeps.watermarkPoll). */
const WATERMARK_POLL_IN_TASK = { intervalMs: 100, budgetMs: 2_000 } as const;

/**
 * RunbookDeps.directDelivery's default: 1,000 events per partition per poll (two round trips each, the
 * aggregates side by side), none started 20 s into the task (its timeout is 60 s). Found by review
 * (switchover-3): unbounded, a large backlog kept the task past its timeout, and its Catch rolled back.
 */
export const DIRECT_DELIVERY = { perCheck: 1_000, windowMs: 20_000 } as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Checks every move with `check` until all are settled, again every `intervalMs` for the ones that are not,
 * for at most `budgetMs` (RunbookDeps.watermarkPoll): one task decides the common case.
 */
async function pollMoves<T extends { readonly partition: number }>(
  deps: RunbookDeps,
  moves: readonly SwitchoverMove[],
  how: {
    readonly check: (move: SwitchoverMove) => Promise<T>;
    readonly done: (result: T | undefined) => boolean;
    /** Where the time between polls goes (`sleep`). */
    readonly timer?: PhaseTimer;
  },
): Promise<{ caughtUp: boolean; partitions: T[]; polls: number }> {
  const { check, done, timer = new PhaseTimer() } = how;
  const now = deps.now ?? Date.now;
  const poll = deps.watermarkPoll ?? WATERMARK_POLL_IN_TASK;
  const deadline = now() + poll.budgetMs;
  const results = new Map<number, T>();
  for (let polls = 1; ; polls++) {
    const pending = moves.filter((m) => !done(results.get(m.partition)));
    for (const result of await mapBounded(pending, deps.concurrency ?? 16, check))
      results.set(result.partition, result);
    const partitions = moves.map((m) => results.get(m.partition)!);
    const caughtUp = partitions.every(done);
    if (caughtUp || now() + poll.intervalMs > deadline) return { caughtUp, partitions, polls };
    await timer.time('sleep', () => sleep(poll.intervalMs));
  }
}

/** Partitions whose CheckWatermark (`$.checkWatermark`) found the source's own copy fenced. */
function ownCopyConfirmed(raw: Record<string, unknown>): Set<number> {
  const check = raw.checkWatermark as { caughtUp?: unknown; partitions?: unknown } | undefined;
  if (check?.caughtUp !== true || !Array.isArray(check.partitions)) return new Set();
  const confirmed = (check.partitions as Array<Partial<WatermarkCheck>>).filter(
    (p) => p.confirmedBy === 'own-copy' && p.missing === 0 && typeof p.partition === 'number',
  );
  return new Set(confirmed.map((p) => p.partition!));
}

/**
 * MoveHome of one move: a compare-and-set on the fence Fence committed (`moveFromFence`, no read first);
 * when that entry is not the committed one any more (a retry after this step moved it, or anyone's change),
 * the entry is read and decided as before (only this run's entry is changed; a move already made is kept).
 */
async function moveHome(
  map: PartitionMap,
  move: SwitchoverMove,
  step: { run: string; atOnce: boolean },
): Promise<PartitionEntry> {
  const { partition, to } = move;
  if (bugEnabled('move-home-any-entry')) {
    const current = await map.read(partition);
    if (current?.state === 'fenced' && current.home !== to)
      return map.change(partition, current, {
        home: to,
        state: 'active',
        sourceConfirmed: true,
        run: step.run,
      });
  }
  if (move.fenced) {
    const fenced: PartitionEntry = {
      partition,
      epoch: move.fencedEpoch,
      ballot: move.fenced.ballot,
      home: move.from,
      state: 'fenced',
      activeFrom: move.fenced.activeFrom,
      reason: 'rehome',
      run: step.run,
    };
    try {
      return await moveFromFence(map, fenced, { to, ...step });
    } catch (error) {
      if (!(error instanceof EpochConflictError)) throw error;
    }
  }
  return step.atOnce
    ? moveHomeConfirmed(map, partition, to, step.run)
    : movePartitionHome(map, partition, to, step.run);
}

/** Runs a step that changes only this execution's entries; someone else's change fails the task. */
async function ownStep<T>(task: string, partition: number, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof EntryChangedError)) throw error;
    throw new SwitchoverStateError(task, partition, error.message);
  }
}

/**
 * RunbookDeps.fenceWindow's default. The Fence task times out after 60 s (cdk TASK_TIMEOUT) while the
 * runbook function may run 5 minutes: a Fence invocation that outlives its task must not fence after the
 * Rollback has read the partitions. 45 s leaves 15 s for a compare-and-set started just before it (two
 * rounds of the control register's 2 s call timeout) and for the function's start after the state's.
 */
export const FENCE_WINDOW = { budgetMs: 45_000, settleMs: 5_000 } as const;

/**
 * Whether the invocation behind a failed task may still be running, from the error the machine's Catch put
 * in `$.error`: no error, a Step Functions timeout or runtime error, or a Lambda service error (the
 * invocation's outcome unknown) -> yes; an error the runbook function threw itself (its own name, e.g.
 * QuorumUnavailableError, or Lambda's Sandbox.Timedout / Runtime.* for a function it ended) -> it has
 * returned. Left open: the task retries Lambda's service errors, so an earlier attempt whose invoke failed
 * with one but ran anyway could still be running when a later attempt throws its own error (README).
 */
export function fenceMayStillRun(error: unknown): boolean {
  const name = (error as { Error?: unknown } | undefined)?.Error;
  if (typeof name !== 'string' || name === '') return true;
  return name.startsWith('States.') || name.startsWith('Lambda.') || name === 'Unknown';
}

/**
 * `map` whose compare-and-sets start only until `deadline` (FenceDeadlineError after it): reads go on, so
 * an invocation that got slow returns an error instead of fencing after its Rollback.
 */
function changesUntil(map: PartitionMap, deadline: number, now: () => number, task: string): PartitionMap {
  if (bugEnabled('late-fence-after-rollback')) return map;
  const bounded = Object.create(map) as PartitionMap;
  bounded.change = (partition, current, change) => {
    const late = now() - deadline;
    if (late > 0) return Promise.reject(new FenceDeadlineError(task, partition, late));
    return map.change(partition, current, change);
  };
  return bounded;
}

/** Attempts of Fence per partition whose entry changes between its read and its fence. */
const FENCE_ATTEMPTS = 3;

/** The entry already read in `read`, else read now. */
async function readOnce(
  map: PartitionMap,
  read: ReadonlyMap<number, PartitionEntry | null>,
  partition: number,
): Promise<PartitionEntry | null> {
  return read.has(partition) ? (read.get(partition) ?? null) : map.read(partition);
}

/** Fences the entry read: another run's fence is taken over, anything else fenced (both a CAS on it). */
function fenceDecided(map: PartitionMap, entry: PartitionEntry, runId: string): Promise<PartitionEntry> {
  return entry.state === 'fenced' && !changedBy(entry, runId)
    ? takeOverFence(map, entry, runId)
    : fenceReadEntry(map, entry, runId);
}

/**
 * Fence of one requested partition: reads the entry (the first attempt takes the one Fence read for every
 * partition in one round), decides (`whySkip`), then fences exactly the entry
 * read (`fenceEntry`/`takeOverFence`: a compare-and-set on it), so `from` is the home of the entry fenced.
 * An entry that changes in between (another execution fenced or moved it) is read and decided again, a
 * few times; then the partition is skipped (a compare-and-set still lost then fails the task).
 */
async function fenceRequested(
  deps: RunbookDeps,
  partition: number,
  plan: {
    request: SwitchoverRequest;
    runId: string;
    takeOver: readonly string[];
    /** Entries Fence read for every requested partition in one round: the first attempt decides on it. */
    read: ReadonlyMap<number, PartitionEntry | null>;
  },
): Promise<SwitchoverMove | { partition: number; why: string }> {
  const { request, runId, takeOver } = plan;
  for (let attempt = 1; ; attempt++) {
    const entry =
      attempt === 1 ? await readOnce(deps.map, plan.read, partition) : await deps.map.read(partition);
    const skip = whySkip(entry, request, { runId, takeOver });
    if (skip || !entry) return { partition, why: skip ?? 'no home yet' };
    try {
      const after = await fenceDecided(deps.map, entry, runId);
      return {
        partition,
        from: entry.home,
        to: request.to,
        fencedEpoch: after.epoch,
        fenced: { ballot: after.ballot, activeFrom: after.activeFrom },
      };
    } catch (error) {
      const changed = error instanceof EntryChangedError;
      // A lost compare-and-set (contention) fails the task once the attempts are spent, as it did before.
      if (!(changed || error instanceof EpochConflictError) || attempt >= FENCE_ATTEMPTS) {
        if (changed) return { partition, why: `changed while fencing: ${error.message}` };
        throw error;
      }
    }
  }
}

/**
 * The Switchover runbook's tasks: Fence -> CheckWatermark (core; polls inside the task, and the machine
 * polls it) -> VerifyProbe (still fenced) -> MoveHome -> Unfence -> CheckOtherTiers (important/ordinary written before the
 * fence, polled the same way), or Rollback. RPO 0: once fenced, the source refuses core
 * writes (its local ConditionCheck fails as soon as its copy of the entry carries the fence; a lease it
 * still holds runs out within `leaseMs`), and the home moves only when the target holds every event of
 * the partition the source has. Cooperative path (the source answers): CheckWatermark writes the fence
 * into the source's own copy if the fence's round missed it and reads it back (`confirmSourceFence`),
 * then compares the logs; Unfence lets the new home write at once. Lease path (it does not): the logs
 * are compared once lease + skew have passed, and the new home waits lease + skew after the unfence.
 * Important and ordinary writes are not homed: they go on in every region throughout.
 * Every change carries the execution's run id (PartitionValue.run): MoveHome, Unfence and Rollback touch a
 * partition only while its entry is still the one this execution wrote (see `rollbackMove`).
 */
export function switchoverTasks(
  deps: RunbookDeps,
  options: { readonly direct?: boolean } = {},
): Record<string, RunbookTask> {
  const direct = options.direct ?? true;
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 16;
  const fenceWindow = deps.fenceWindow ?? FENCE_WINDOW;
  const requiredRun = (task: string, raw: Record<string, unknown>) =>
    runOf(raw) ?? new TaskInput('switchover', task, raw).string('run.id');
  const movesOf = (task: string, raw: Record<string, unknown>) =>
    new TaskInput('switchover', task, raw).result<{ moves: SwitchoverMove[] }>('fence').moves;
  const fencedAtOf = (task: string, raw: Record<string, unknown>) =>
    Number(new TaskInput('switchover', task, raw).result<{ fencedAt: number }>('fence').fencedAt);
  return {
    async Fence(raw) {
      const request = switchoverRequest('Fence', raw);
      const runId = runOf(raw) ?? ulid();
      // Run ids of dead executions whose fences this one may take over (`"takeOver": ["<$.run.id>"]`).
      const takeOver = Array.isArray(raw.takeOver) ? raw.takeOver.filter((r) => typeof r === 'string') : [];
      // The deadline counts from this invocation's start (the state was entered before it): no fence of
      // this run starts after it, so a Rollback that waited budget + settle from its own start reads last.
      const deadline = now() + fenceWindow.budgetMs;
      const timer = new PhaseTimer();
      const bounded = { ...deps, map: changesUntil(deps.map, deadline, now, 'Fence') };
      const { partitions, read } = await timer.time('list', () => requestedEntries(deps, request));
      const skipped: Array<{ partition: number; why: string }> = [];
      const fenced = await mapBounded(partitions, concurrency, async (partition) => {
        const move = await timer.time(
          'fence',
          () => fenceRequested(bounded, partition, { request, runId, takeOver, read }),
          String(partition),
        );
        if ('why' in move) return void skipped.push(move);
        return move;
      });
      const moves = fenced.filter((m): m is SwitchoverMove => m !== undefined);
      return { moves, skipped, fencedAt: now(), runId, ms: timer.report() };
    },
    async CheckWatermark(raw) {
      const moves = movesOf('CheckWatermark', raw);
      const fencedAt = fencedAtOf('CheckWatermark', raw);
      const leaseEnds = fencedAt + deps.map.leaseMs + deps.map.skewMarginMs;
      const confirmed = new Map<number, SourceFence>();
      const heads = new Map<number, SourceHead>();
      const timer = new PhaseTimer();
      const delivery = deps.directDelivery ?? DIRECT_DELIVERY;
      const deliverUntil = now() + delivery.windowMs;
      const result = await pollMoves(deps, moves, {
        check: (move) =>
          checkMove(deps, move, {
            fencedAt,
            leaseOver: now() >= leaseEnds,
            confirmed,
            heads,
            timer,
            direct,
            deliveryOpen: () => now() < deliverUntil,
            deliveryCap: delivery.perCheck,
          }),
        done: settled,
        timer,
      });
      // Every partition settled but for rows that still differ once the target held the head (re-read on
      // every poll: a row the applier folds right after its event's append catches up): VerifyProbe's refusal.
      const differing = result.partitions.find((p) => p.rows === 'differ');
      if (differing && result.partitions.every((p) => p.missing === 0 && p.sourceFenced)) {
        const move = moves.find((m) => m.partition === differing.partition)!;
        throw new ProbeFailedError(
          differing.partition,
          `${differing.differs} differs between ${move.from} and ${move.to} while ${move.to} holds every core event ${move.from} holds`,
        );
      }
      return { ...result, checkedAt: now(), ms: timer.report() };
    },
    async CheckOtherTiers(raw) {
      const moves = movesOf('CheckOtherTiers', raw);
      const fencedAt = fencedAtOf('CheckOtherTiers', raw);
      const result = await pollMoves(deps, moves, {
        check: async (move) => ({
          partition: move.partition,
          missing:
            move.from === move.to
              ? 0
              : await blockingMissing(
                  deps,
                  { source: deps.cell(move.from), target: deps.cell(move.to), partition: move.partition },
                  { fencedAt, skewMarginMs: deps.map.skewMarginMs, tiers: 'others' },
                ),
        }),
        done: (check) => check?.missing === 0,
      });
      return { ...result, checkedAt: now() };
    },
    async MoveHome(raw) {
      const timer = new PhaseTimer();
      const moves = movesOf('MoveHome', raw);
      const run = requiredRun('MoveHome', raw);
      const confirmed = ownCopyConfirmed(raw);
      const moved = await mapBounded(moves, concurrency, async (move) => {
        // The old home confirmed its fence and the target holds its head: the Unfence that follows would
        // let the new home write at once, so move and unfence in one register change (Unfence then finds
        // the entry active and changes nothing). Otherwise only the move; Unfence applies the lease hold.
        const atOnce = move.from !== move.to && confirmed.has(move.partition);
        const after = await ownStep('MoveHome', move.partition, () =>
          moveHome(deps.map, move, { run, atOnce }),
        );
        return { partition: move.partition, home: after.home, epoch: after.epoch, state: after.state };
      });
      return { moved, ms: timer.report() };
    },
    async Unfence(raw) {
      const moves = movesOf('Unfence', raw);
      const run = requiredRun('Unfence', raw);
      const confirmed = ownCopyConfirmed(raw);
      const active = await mapBounded(moves, concurrency, async (move) => {
        // The old home confirmed (its own copy carries the fence, read before its head was compared): the
        // new home writes at once. Otherwise (lease path, or no CheckWatermark result) it waits lease + skew.
        const sourceConfirmed = move.from !== move.to && confirmed.has(move.partition);
        const after = await ownStep('Unfence', move.partition, () =>
          unfencePartition(deps.map, move.partition, run, { sourceConfirmed }),
        );
        return {
          partition: move.partition,
          home: after.home,
          epoch: after.epoch,
          activeFrom: after.activeFrom,
          sourceConfirmed,
        };
      });
      return { active, writableFrom: Math.max(0, ...active.map((a) => a.activeFrom)) };
    },
    async VerifyProbe(raw) {
      const timer = new PhaseTimer();
      const moves = movesOf('VerifyProbe', raw);
      const compared = rowsCompared(raw);
      const probed = await mapBounded(moves, concurrency, async (move) => {
        const aggregates = compared.get(move.partition);
        if (aggregates === undefined) return probeMove(deps, move);
        return {
          partition: move.partition,
          aggregatesInPartition: aggregates,
          compared: 'rows' as const,
          by: 'CheckWatermark' as const,
        };
      });
      return { probed, ms: timer.report() };
    },
    async Rollback(raw) {
      const startedAt = now();
      const fence = raw.fence as { moves?: SwitchoverMove[] } | undefined;
      const request = switchoverRequest('Rollback', raw);
      if (!fence?.moves && !bugEnabled('late-fence-after-rollback')) {
        // Fence failed or timed out. If its invocation may still be running (Step Functions does not stop
        // the function on a task timeout): it started before this task and starts no compare-and-set past
        // its deadline, so once budget + settle (+ skew between the two functions' clocks) have passed since
        // this task began, every fence of this run has committed or failed, and each one carries the run's
        // stamp: every requested partition stamped by this run is its own (unfenced where it is, below).
        // If the Fence function answered with its own error, only a compare-and-set it abandoned can still
        // land: settle + skew.
        const budget = fenceMayStillRun(raw.error) ? fenceWindow.budgetMs : 0;
        const until = startedAt + budget + fenceWindow.settleMs + deps.map.skewMarginMs;
        await sleep(Math.max(0, until - now()));
      }
      // Fence may have failed part-way (no $.fence): whatever it fenced is still with its old home.
      const moves: readonly RollbackMove[] =
        fence?.moves ??
        (await requestedPartitions(deps, request)).map((partition) => ({ partition, from: null }));
      const run = runOf(raw);
      const outcomes = await mapBounded(moves, concurrency, (move) => rollbackMove(deps, run, move));
      const refused = outcomes.filter(
        (o): o is Extract<RollbackOutcome, { why: string }> => o.outcome === 'refused',
      );
      if (refused.length > 0) throw new RollbackRefusedError('switchover', 'Rollback', refused);
      return {
        restored: outcomes.filter((o) => o.outcome === 'restored'),
        leftAlone: outcomes.filter((o) => o.outcome === 'left-alone'),
      };
    },
  };
}
