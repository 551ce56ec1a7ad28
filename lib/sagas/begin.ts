import { type CommandDeps, catchUpCoreRow, executeCommand } from '../commands/execute.ts';
import { mergeHistory, readArchivedEvents } from '../lifecycle/archive.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import type { AnyAggregate, Command } from '../model/aggregate.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import { DomainError } from '../model/errors.ts';
import { parseCommand } from '../model/registry.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { EventStore } from '../store/event-store.ts';
import type { AnySaga, SagaContext, SagaParticipant } from './definition.ts';
import { IdempotencyKeyReusedError, SagaRefusedError } from './errors.ts';
import type { SagaCommandPort, SagaStarter } from './ports.ts';
import { FINISHED, type SagaState } from './saga-state.ts';

/** What beginning a saga at its home needs. */
export interface SagaBeginDeps {
  /** The home's command deps: the BeginSaga append is local and fenced. */
  readonly commands: CommandDeps;
  /** Reads participants at their homes for the dry run (only when the local copy refuses). */
  readonly port: SagaCommandPort;
  readonly starter: SagaStarter;
  /** Reservations expire this long after the begin (topology `sagas.holdMs`). */
  readonly holdMs: number;
  /** An idle saga is resumed by the sweep after this long (topology `sagas.resumeAfterMs`). */
  readonly resumeAfterMs: number;
  readonly now?: () => number;
  /** Told when the execution could not be started (the sweep will start it). */
  readonly onStartFailed?: (sagaId: string, error: unknown) => void;
}

/** A begun saga as the API answers it. */
export interface BeginOutcome {
  readonly state: SagaState;
  /** False when the saga already existed (the same request again). */
  readonly begun: boolean;
}

type Participant = SagaParticipant<Record<string, unknown>>;

/** The saga's row at its home, caught up with its log; null before it began. */
export async function sagaStateHere(
  commands: Pick<CommandDeps, 'events' | 'states' | 'registry'>,
  saga: AnySaga,
  sagaId: string,
): Promise<SagaState | null> {
  const aggregate = commands.registry.get(saga.name);
  const row = await catchUpCoreRow(commands, aggregate, sagaId);
  const state = JSON.parse(row.state) as SagaState;
  return state.status === 'new' ? null : state;
}

function dryRun(aggregate: AnyAggregate, command: Command, state: unknown, now: number): DomainError | null {
  try {
    aggregate.decide(parseCommand(aggregate, command), state ?? aggregate.initialState(), { now });
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

/**
 * The dry run that lets the API refuse a request that cannot succeed with a 4xx and nothing written: each
 * participant's Try (or, without one, its Confirm) is decided against its current state, first this
 * region's copy, then, when that refuses, the copy at the participant's home (the local one may lag).
 * Only advisory: the real Try still decides at the home, and a later refusal cancels the saga. The
 * participants are read at once; the first refusal in participant order is the answer (null: none).
 */
async function precheck(
  deps: SagaBeginDeps,
  input: { saga: AnySaga; input: Record<string, unknown>; context: SagaContext },
): Promise<SagaRefusedError | null> {
  const refusals = await Promise.all(
    (input.saga.participants as readonly Participant[]).map(async (participant) => {
      const command =
        participant.try?.(input.input, input.context) ?? participant.confirm(input.input, input.context);
      const aggregate = deps.commands.registry.get(participant.aggregateType);
      const id = participant.aggregateId(input.input);
      const local = await deps.commands.states.getState(participant.aggregateType, id);
      let refusal = dryRun(aggregate, command, local ? JSON.parse(local.state) : undefined, input.context.at);
      if (refusal)
        refusal = dryRun(
          aggregate,
          command,
          (await deps.port.read(participant.aggregateType, id))?.state,
          input.context.at,
        );
      if (!refusal) return null;
      return new SagaRefusedError({
        participant: participant.name,
        aggregateId: id,
        code: refusal.code,
        message: refusal.message,
        details: refusal.details,
      });
    }),
  );
  return refusals.find((r) => r !== null) ?? null;
}

/**
 * Begins a saga at its home (the caller routed the request there): the same request again answers the
 * saga as it is (another body under the same key: IdempotencyKeyReused); a new one is dry-run against its
 * participants (SagaRefusedError: 422, nothing written), begun with a local fenced append, and its Saga
 * execution is started (named by the saga id, so starting twice runs once). If the start fails, the
 * sweep starts it once the saga has been idle for resumeAfterMs.
 */
export async function beginSaga(
  deps: SagaBeginDeps,
  request: {
    saga: AnySaga;
    sagaId: string;
    input: Record<string, unknown>;
    /** The client's key: the begin's causationId, so the saga traces back to the request that began it. */
    idempotencyKey?: string;
  },
): Promise<BeginOutcome> {
  const { saga, sagaId, input } = request;
  const at = (deps.now ?? Date.now)();
  const expiresAt = at + deps.holdMs;
  // The dry run reads the participants while the saga's own row is read: a new saga (the usual case)
  // needs both, and a request seen before ignores the dry run, its failures included.
  const [existing, dry] = await Promise.all([
    sagaStateHere(deps.commands, saga, sagaId),
    precheck(deps, { saga, input, context: { sagaId, expiresAt, at } }).then(
      (refusal) => ({ refusal }),
      (error: unknown) => ({ error }),
    ),
  ]);
  if (existing) {
    if (canonicalJson(existing.input) !== canonicalJson(input)) {
      throw new IdempotencyKeyReusedError(`${saga.name} ${sagaId}`);
    }
    if (!FINISHED.has(existing.status)) await start(deps, saga, sagaId);
    return { state: existing, begun: false };
  }
  if ('error' in dry) throw dry.error;
  if (dry.refusal) throw dry.refusal;
  const result = await executeCommand(deps.commands, {
    aggregateType: saga.name,
    aggregateId: sagaId,
    command: { type: 'BeginSaga', payload: { input, expiresAt, resumeAfterMs: deps.resumeAfterMs, at } },
    correlationId: sagaId,
    causationId: request.idempotencyKey ?? sagaId,
  });
  await start(deps, saga, sagaId);
  return { state: result.state as SagaState, begun: result.events.length > 0 };
}

async function start(deps: SagaBeginDeps, saga: AnySaga, sagaId: string): Promise<void> {
  try {
    await deps.starter.start({ saga: saga.name, sagaId, startedBy: 'api' }, sagaId);
  } catch (error) {
    deps.onStartFailed?.(sagaId, error);
  }
}

/**
 * Polls the saga's row at its home until it has ended or `waitMs` passed. A poll is one strongly
 * consistent read of the row, which the coordinator writes with every step; the answer at the deadline
 * (or without a row) is the row caught up with the log, in case a writer stopped between the two.
 */
export async function waitForOutcome(
  commands: Pick<CommandDeps, 'events' | 'states' | 'registry'>,
  input: { saga: AnySaga; sagaId: string; waitMs: number; pollMs?: number },
): Promise<SagaState | null> {
  const deadline = Date.now() + input.waitMs;
  for (;;) {
    const row = await commands.states.getState(input.saga.name, input.sagaId);
    const state = row ? (JSON.parse(row.state) as SagaState) : null;
    if (state && FINISHED.has(state.status)) return state;
    if (!state || Date.now() >= deadline) return sagaStateHere(commands, input.saga, input.sagaId);
    await new Promise((resolve) => setTimeout(resolve, input.pollMs ?? 25));
  }
}

/** One event of a saga's history as the API shows it. */
export interface SagaHistoryEntry {
  readonly seq: number;
  readonly type: string;
  readonly at: number | null;
  readonly origin: string;
  readonly hlc: string;
  readonly payload: Record<string, unknown>;
  /**
   * Present (true) when the event's payload is in the region's archive and no archive was given to read it:
   * `payload` is then empty and `at` null because they are not here, not because the event had none.
   */
  readonly archived?: true;
}

/**
 * The saga's log, oldest first. Archived events (stubs in the hot log) are read from `archive` when given;
 * otherwise they are listed marked `archived: true` (never as an event with an empty payload).
 */
export async function sagaHistory(
  events: EventStore,
  saga: AnySaga,
  sagaId: string,
  archive?: ArchiveStore,
): Promise<SagaHistoryEntry[]> {
  const hot = await events.loadStream(saga.name, sagaId);
  const log =
    archive && hot.some(isArchivedStub)
      ? mergeHistory(await readArchivedEvents(archive, saga.name, sagaId), hot)
      : hot;
  return log.map((e) => ({
    seq: e.seq,
    type: e.type,
    at: typeof e.payload.at === 'number' ? e.payload.at : null,
    origin: e.origin,
    hlc: e.hlc,
    payload: e.payload,
    ...(isArchivedStub(e) ? { archived: true as const } : {}),
  }));
}
