import type { AppendGuard } from '../store/event-store.ts';
import { REGISTER_SORT_KEY } from './dynamodb-replica.ts';
import { StaleEpochError } from './errors.ts';
import { type PartitionEntry, partitionKey } from './partition-map.ts';

/**
 * The fencing guard a core append carries: a ConditionCheck on the region's LOCAL copy of the partition's
 * entry, in the same transaction as the events, so the store itself rejects a write whose epoch is no
 * longer the region's known epoch (or whose partition this region no longer owns, or that is fenced).
 * @example await store.appendEvents(events, { tier: 'core', guards: [localFenceGuard({ tableName, region, entry })] })
 */
export function localFenceGuard(input: {
  readonly tableName: string;
  readonly region: string;
  readonly entry: PartitionEntry;
  readonly onFailure?: () => void;
}): AppendGuard {
  const { entry, region } = input;
  return {
    item: {
      ConditionCheck: {
        TableName: input.tableName,
        Key: { pk: partitionKey(entry.partition), sk: REGISTER_SORT_KEY },
        ConditionExpression:
          'epoch = :epoch AND ballot = :ballot AND #value.#home = :home AND #value.#state = :active',
        ExpressionAttributeNames: { '#value': 'value', '#home': 'home', '#state': 'state' },
        ExpressionAttributeValues: {
          ':epoch': entry.epoch,
          ':ballot': entry.ballot,
          ':home': region,
          ':active': 'active',
        },
      },
    },
    onFailure: () => {
      input.onFailure?.();
      return new StaleEpochError(entry.partition, region, entry.epoch);
    },
  };
}
