import type { HybridLogicalClock } from '../lib/clock/index.ts';
import { envelopeEvents } from '../lib/commands/index.ts';
import type { AggregateRegistry, EventEnvelope } from '../lib/model/index.ts';

/** One domain event of a bench chain: its type and payload. */
export type DomainEvent = { type: string; payload: Record<string, unknown> };

/**
 * `count` events of one aggregate as us-east-1 would have written them (partition 1, epoch 0): a causal
 * chain, each event's vector and head the previous one's, seq i for the i-th; `domainOf(i)` is its content.
 */
export function originChain(
  registry: AggregateRegistry,
  input: { aggregate: string; id: string; count: number; clock: HybridLogicalClock },
  domainOf: (i: number) => DomainEvent,
): EventEnvelope[] {
  const aggregate = registry.get(input.aggregate);
  const out: EventEnvelope[] = [];
  let vv = {};
  let head: string | null = null;
  for (let i = 0; i < input.count; i++) {
    const [event] = envelopeEvents([domainOf(i)], {
      aggregate,
      aggregateId: input.id,
      partition: 1,
      region: 'us-east-1',
      clock: input.clock,
      epoch: 0,
      seq: i,
      vv,
      head,
      correlationId: 'bench',
      causationId: 'bench',
    });
    out.push(event!);
    vv = event!.vv;
    head = event!.hlc;
  }
  return out;
}
