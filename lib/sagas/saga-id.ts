import { createHash } from 'node:crypto';
import { partitionOf } from '../ownership/partition.ts';
import type { SagaDefinition } from './definition.ts';

/** Far more than needed: with P partitions a match takes P tries on average (P <= 65,536). */
const MAX_TRIES = 2_000_000;

/**
 * The saga id for a request: a function of the saga, the co-located participant's id and the client's
 * idempotency key, so the same request sent to any region names the same saga (and finds it begun). The
 * id is chosen in the co-located participant's partition (a counter is appended until partitionOf
 * matches), so the saga shares that aggregate's home and epoch: its Try and its decision are local writes
 * at one home, and a failover or switchover moves both together.
 * @example sagaIdFor(transfer, { from: 'alice', to: 'bob', amount: 5 }, 'key-1', 256) // 'tr-<24 hex>-<n>'
 */
export function sagaIdFor<I>(
  definition: SagaDefinition<I>,
  input: I,
  idempotencyKey: string,
  partitions: number,
): string {
  const anchor = colocatedId(definition, input);
  const wanted = partitionOf(anchor, partitions);
  const digest = createHash('sha256')
    .update(`${definition.name}\n${anchor}\n${idempotencyKey}`)
    .digest('hex')
    .slice(0, 24);
  for (let n = 0; n < MAX_TRIES; n++) {
    const id = `${definition.idPrefix}${digest}-${n.toString(36)}`;
    if (partitionOf(id, partitions) === wanted) return id;
  }
  throw new Error(`no ${definition.name} id in partition ${wanted} after ${MAX_TRIES} tries`);
}

/** The id of the participant the saga is co-located with. */
export function colocatedId<I>(definition: SagaDefinition<I>, input: I): string {
  const participant = definition.participants.find((p) => p.name === definition.colocateWith);
  if (!participant)
    throw new Error(`saga "${definition.name}" has no participant ${definition.colocateWith}`);
  return participant.aggregateId(input);
}
