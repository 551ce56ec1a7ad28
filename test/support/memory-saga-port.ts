import { type AggregateRegistry, DomainError, parseCommand } from '../../lib/model/index.ts';
import type { AggregateView, SagaCommandPort, StepCommand, StepOutcome } from '../../lib/sagas/index.ts';

/** What the network does to one step: deliver it, lose it, lose its answer, or deliver it twice. */
export type Delivery = 'ok' | 'drop-request' | 'drop-response' | 'duplicate';

/** A step lost in the network: the caller cannot tell whether it ran. */
export class LostStepError extends Error {
  override readonly name = 'LostStepError';
}

/** An event in a MemorySagaPort log: what was decided, and when by the home's clock (absent when seeded). */
export interface MemoryEvent {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly decidedAt?: number;
}

/**
 * Aggregates in memory, each command decided and folded atomically (one writer per aggregate, as core
 * fencing gives), reached through a network that loses and duplicates steps as `deliveries` says, in order.
 * Every home decides by the clock `now` (the coordinators may keep another). The port the saga coordinator
 * talks to, without DynamoDB: for property tests of the saga logic alone.
 */
export class MemorySagaPort implements SagaCommandPort {
  readonly logs = new Map<string, MemoryEvent[]>();
  private readonly states = new Map<string, { state: unknown; version: number }>();
  private next = 0;

  constructor(
    private readonly registry: AggregateRegistry,
    private readonly deliveries: readonly Delivery[] = [],
    private readonly now: () => number = () => 0,
  ) {}

  /** Every later step is delivered as is (the faults are over). */
  heal(): void {
    this.next = Number.POSITIVE_INFINITY;
  }

  async send(step: StepCommand): Promise<StepOutcome> {
    const delivery = this.deliveries[this.next++] ?? 'ok';
    if (delivery === 'drop-request') throw new LostStepError(`lost ${step.command.type}`);
    const outcome = this.apply(step);
    if (delivery === 'duplicate') this.apply(step);
    if (delivery === 'drop-response') throw new LostStepError(`lost the answer to ${step.command.type}`);
    return outcome;
  }

  async read(aggregateType: string, aggregateId: string): Promise<AggregateView | null> {
    return this.states.get(`${aggregateType}#${aggregateId}`) ?? null;
  }

  /** Sets an aggregate's state directly (test setup). */
  seed(
    aggregateType: string,
    aggregateId: string,
    events: Array<{ type: string; payload: Record<string, unknown> }>,
  ) {
    for (const event of events) this.fold(aggregateType, aggregateId, event);
  }

  stateOf<S>(aggregateType: string, aggregateId: string): S {
    const aggregate = this.registry.get(aggregateType);
    return (this.states.get(`${aggregateType}#${aggregateId}`)?.state ?? aggregate.initialState()) as S;
  }

  eventsOf(aggregateType: string, aggregateId: string): readonly MemoryEvent[] {
    return this.logs.get(`${aggregateType}#${aggregateId}`) ?? [];
  }

  private apply(step: StepCommand): StepOutcome {
    const aggregate = this.registry.get(step.aggregateType);
    const state = this.stateOf(step.aggregateType, step.aggregateId);
    try {
      const decidedAt = this.now();
      const events = aggregate.decide(parseCommand(aggregate, step.command), state, { now: decidedAt });
      for (const event of events) this.fold(step.aggregateType, step.aggregateId, { ...event, decidedAt });
      return { status: 'ok', state: this.stateOf(step.aggregateType, step.aggregateId) };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { status: 'refused', code: error.code, message: error.message, details: { ...error.details } };
    }
  }

  private fold(aggregateType: string, aggregateId: string, event: MemoryEvent) {
    const key = `${aggregateType}#${aggregateId}`;
    const aggregate = this.registry.get(aggregateType);
    const current = this.states.get(key) ?? { state: aggregate.initialState(), version: 0 };
    this.states.set(key, { state: aggregate.evolve(current.state, event), version: current.version + 1 });
    this.logs.set(key, [...(this.logs.get(key) ?? []), event]);
  }
}
