import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { type PartitionValue, partitionKey } from '../ownership/partition-map.ts';

export interface LocalHomeOptions {
  readonly region: string;
  /** A client of this region. */
  readonly client: DynamoDBDocumentClient;
  /** This region's control table (its own copy of the partition map). */
  readonly controlTable: string | (() => string);
}

/**
 * The archiver's `topology.homeOf`: a partition's home as this region's own copy of the partition map
 * says (read strongly, once per partition for the returned function's life: one archive pass). A
 * partition fenced there (moving) has no home for the pass: it is left for the next one. Only what this
 * region's copy says counts: a region that is no longer the home is told so by its own copy before the
 * new home writes (the fence), so it never archives against a log a new home writes on.
 * @example archiveSweep({ ...deps, topology: { region, regions, homeOf: localHomeOf({ region, client, controlTable }) } }, input)
 */
export function localHomeOf(options: LocalHomeOptions): (partition: number) => Promise<string | undefined> {
  const replica = new DynamoControlReplica({
    region: options.region,
    client: options.client,
    tableName: options.controlTable,
  });
  const homes = new Map<number, Promise<string | undefined>>();
  return (partition) => {
    let home = homes.get(partition);
    if (!home) {
      home = replica
        .read<PartitionValue>(partitionKey(partition))
        .then((record) => (record?.value.state === 'active' ? record.value.home : undefined));
      homes.set(partition, home);
    }
    return home;
  };
}
