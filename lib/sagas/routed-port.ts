import { type CommandDeps, catchUpCoreRow, confirmHomeHere, executeCommand } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import { DomainError } from '../model/errors.ts';
import { NotHomeError, StaleEpochError } from '../ownership/errors.ts';
import { partitionOf } from '../ownership/partition.ts';
import { ROUTING_HEADERS } from '../routing/headers.ts';
import type { CommandRouter, HomeLookup } from '../routing/router.ts';
import type { PeerResponse } from '../routing/transport.ts';
import { SagaStepRejectedError, SagaStepUnavailableError } from './errors.ts';
import {
  type AggregateView,
  SAGA_FIELD,
  type SagaCommandPort,
  type StepCommand,
  type StepOutcome,
} from './ports.ts';

export interface RoutedCommandPortOptions {
  /** This region's command deps (fencing included): steps whose home is here run in-process. */
  readonly commands: CommandDeps;
  /** The API's router: a step whose home is elsewhere is forwarded to the home's API. */
  readonly router: CommandRouter;
  /** Partition homes without claiming (reads of aggregates that may not exist). */
  readonly homes: HomeLookup;
}

interface ErrorBody {
  readonly error?: string;
  readonly message?: string;
  readonly details?: Record<string, unknown>;
  readonly state?: unknown;
  readonly version?: number;
}

function bodyOf(response: PeerResponse): ErrorBody {
  try {
    return JSON.parse(response.body) as ErrorBody;
  } catch {
    return {};
  }
}

/** A peer's answer to a step: ok, a domain refusal (422), a misroute (421: route again), or an error. */
function stepAnswer(step: StepCommand, response: PeerResponse): StepOutcome | 'misrouted' {
  const body = bodyOf(response);
  if (response.status === 200) return { status: 'ok', state: body.state };
  if (response.status === 421) return 'misrouted';
  const code = body.error ?? String(response.status);
  if (response.status === 422) {
    return { status: 'refused', code, message: body.message ?? '', details: body.details ?? {} };
  }
  if (response.status >= 500 || response.status === 409) {
    // 409: lost an optimistic-concurrency race too often, or a forwarded copy is still running.
    throw new SagaStepUnavailableError(step.aggregateId, response.status, code);
  }
  throw new SagaStepRejectedError(step.aggregateId, response.status, code);
}

/**
 * The saga's way to its participants: the same command path as the API. A step whose aggregate is homed
 * here runs in-process (with fencing); one homed elsewhere is forwarded to the home's API as
 * `POST /v1/<type>/<id>/commands` naming the saga in its body, through the service breaker and with the
 * forwarding request id (the home dedupes a copy the network delivers twice). A stale home (421) is
 * re-resolved once. Steps carry no idempotency key of their own: every step command is idempotent by saga
 * id in the domain, which also holds when a retry reaches a new home after a failover.
 */
export class RoutedCommandPort implements SagaCommandPort {
  constructor(private readonly options: RoutedCommandPortOptions) {}

  async send(step: StepCommand): Promise<StepOutcome> {
    const { commands, router } = this.options;
    const tier = commands.registry.get(step.aggregateType).tier;
    for (let attempt = 1; ; attempt++) {
      const route = await router.route({ tier, aggregateId: step.aggregateId });
      const answer =
        route.action === 'local' ? await this.runHere(step) : await this.forward(route.region, step);
      if (answer !== 'misrouted') return answer;
      router.invalidate(route.partition);
      if (attempt >= 2) throw new SagaStepUnavailableError(step.aggregateId, 421, 'NotHome');
    }
  }

  /**
   * The participant's state at its home, for a decision (the dry run): the same rule as a refusal
   * (Fencing rule 5). Read here, a core row is served only once this region's own copy of the entry
   * still names it the writable home (`confirmAnswer`, as before a command's refusal); read at another
   * region, the GET asks for that check (`X-Multiactive-Home-Read`). A home that is no longer home
   * (StaleEpoch / NotHome here, 421 there) is re-resolved once, as a step is.
   */
  async read(aggregateType: string, aggregateId: string): Promise<AggregateView | null> {
    const { commands, router, homes } = this.options;
    const partition = partitionOf(aggregateId, commands.partitions);
    const unconfirmed = bugEnabled('dry-run-reads-unconfirmed');
    for (let attempt = 1; ; attempt++) {
      const entry = await homes.entryFor(partition);
      const answer =
        !entry || entry.home === commands.region
          ? await this.readHere(aggregateType, aggregateId, entry !== null && !unconfirmed)
          : await this.readAt(entry.home, aggregateType, aggregateId, !unconfirmed);
      if (answer !== 'misrouted') return answer;
      homes.invalidate(partition);
      router.invalidate(partition);
      if (attempt >= 2) throw new SagaStepUnavailableError(aggregateId, 421, 'NotHome');
    }
  }

  private async readAt(
    home: string,
    aggregateType: string,
    aggregateId: string,
    confirmHome: boolean,
  ): Promise<AggregateView | null | 'misrouted'> {
    const response = await this.options.router.forward(home, {
      method: 'GET',
      path: `/v1/${encodeURIComponent(aggregateType)}/${encodeURIComponent(aggregateId)}`,
      headers: { accept: 'application/json', ...(confirmHome ? { [ROUTING_HEADERS.homeRead]: '1' } : {}) },
    });
    if (response.status === 404) return null;
    if (response.status === 421) return 'misrouted';
    if (response.status !== 200) return this.unavailable(aggregateId, response);
    const body = bodyOf(response);
    return { state: body.state, version: body.version ?? 0 };
  }

  private unavailable(aggregateId: string, response: PeerResponse): never {
    throw new SagaStepUnavailableError(aggregateId, response.status, bodyOf(response).error ?? 'unknown');
  }

  private async readHere(
    aggregateType: string,
    aggregateId: string,
    confirmHome: boolean,
  ): Promise<AggregateView | null | 'misrouted'> {
    const { commands } = this.options;
    const aggregate = commands.registry.get(aggregateType);
    if (confirmHome && aggregate.tier === 'core') {
      try {
        await confirmHomeHere(commands, aggregateId);
      } catch (error) {
        if (error instanceof NotHomeError || error instanceof StaleEpochError) return 'misrouted';
        throw error;
      }
    }
    const stored = await commands.states.getState(aggregateType, aggregateId);
    const row =
      aggregate.tier === 'core' ? await catchUpCoreRow(commands, aggregate, aggregateId, stored) : stored;
    if (!row || row.version === 0) return null;
    return { state: JSON.parse(row.state), version: row.version };
  }

  private async runHere(step: StepCommand): Promise<StepOutcome | 'misrouted'> {
    try {
      const result = await executeCommand(this.options.commands, {
        aggregateType: step.aggregateType,
        aggregateId: step.aggregateId,
        command: step.command,
        correlationId: step.sagaId,
        causationId: step.sagaId,
      });
      return { status: 'ok', state: result.state };
    } catch (error) {
      if (error instanceof DomainError) {
        return { status: 'refused', code: error.code, message: error.message, details: { ...error.details } };
      }
      if (error instanceof NotHomeError || error instanceof StaleEpochError) return 'misrouted';
      throw error;
    }
  }

  private async forward(home: string, step: StepCommand): Promise<StepOutcome | 'misrouted'> {
    const type = encodeURIComponent(step.aggregateType);
    const response = await this.options.router.forward(home, {
      method: 'POST',
      path: `/v1/${type}/${encodeURIComponent(step.aggregateId)}/commands`,
      headers: { 'content-type': 'application/json' },
      // The saga rides in the body, which the peer token signs (routing headers are not passed on).
      body: JSON.stringify({
        type: step.command.type,
        payload: step.command.payload,
        [SAGA_FIELD]: step.sagaId,
      }),
    });
    return stepAnswer(step, response);
  }
}
