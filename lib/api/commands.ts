import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { type CommandDeps, type CommandRequest, executeCommand } from '../commands/execute.ts';
import { formatConsistencyToken } from '../routing/token.ts';
import type { CommandBody } from './request.ts';

/** What a command call returns to the client (and what the idempotency layer stores for replays). */
export interface CommandResponse {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly events: ReadonlyArray<{ eventId: string; type: string; seq: number; hlc: string }>;
  readonly state: unknown;
  readonly version: number;
  readonly token: string | null;
}

async function runCommand(deps: CommandDeps, request: CommandRequest): Promise<CommandResponse> {
  const result = await executeCommand(deps, request);
  return {
    aggregateType: request.aggregateType,
    aggregateId: request.aggregateId,
    events: result.events.map((e) => ({ eventId: e.eventId, type: e.type, seq: e.seq, hlc: e.hlc })),
    state: result.state,
    version: result.record.version,
    token: result.token ? formatConsistencyToken(result.token) : null,
  };
}

interface IdempotentInput {
  readonly key: string;
  readonly request: CommandRequest;
}

/**
 * Runs commands, honouring `idempotencyKey` with Powertools idempotency on DynamoDB: the same key with the
 * same command returns the stored response; the same key with a different command is refused (422).
 */
export function createCommandRunner(deps: CommandDeps, persistenceStore?: BasePersistenceLayer) {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request.command',
    expiresAfterSeconds: 24 * 60 * 60,
  });
  const idempotent = persistenceStore
    ? makeIdempotent((input: IdempotentInput) => runCommand(deps, input.request), {
        persistenceStore,
        config,
      })
    : undefined;
  return async function runCommandOnce(
    target: { aggregateType: string; aggregateId: string },
    body: CommandBody,
    context: Context,
  ): Promise<CommandResponse> {
    // The idempotency key names the client's command: it becomes every event's causationId, so an event
    // can be traced to the request that caused it (the chaos checkers map events to operations by it).
    const request: CommandRequest = {
      ...target,
      command: { type: body.type, payload: body.payload },
      ...(body.idempotencyKey
        ? { causationId: body.idempotencyKey, idempotencyKey: body.idempotencyKey }
        : {}),
    };
    if (!body.idempotencyKey || !idempotent) return runCommand(deps, request);
    config.registerLambdaContext(context);
    return idempotent({
      key: `${target.aggregateType}/${target.aggregateId}/${body.idempotencyKey}`,
      request,
    });
  };
}
