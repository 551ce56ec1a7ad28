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
 * A partition's home as one region sees it, for the archiver (`ArchiverDeps.topology.homeOf`). Calling it
 * may answer from a cache (one read per partition per pass: cheap enough to skip the aggregates homed
 * elsewhere); `recheck`, when present, reads again and is what the archiver asks right before it turns
 * events into stubs, so a move made during the pass is seen by the next aggregate it would stub.
 */
export interface HomeOf {
  (partition: number): Promise<string | undefined>;
  recheck?(partition: number): Promise<string | undefined>;
}

/**
 * The archiver's `topology.homeOf`: a partition's home as this region's own copy of the partition map
 * says, read strongly. The plain call is cached for the returned function's life (one archive pass);
 * `recheck` reads again (and refreshes the cache): the archiver calls it once per aggregate it archives,
 * right before the stub writes. A partition fenced there (moving) has no home: it is left for the next
 * pass. Only what this region's copy says counts: a region that is no longer the home is told so by its
 * own copy before the new home writes (the fence), so it does not stub events of a log a new home writes on.
 * @example archiveSweep({ ...deps, topology: { region, regions, homeOf: localHomeOf({ region, client, controlTable }) } }, input)
 */
export function localHomeOf(options: LocalHomeOptions): HomeOf {
  const replica = new DynamoControlReplica({
    region: options.region,
    client: options.client,
    tableName: options.controlTable,
  });
  const homes = new Map<number, Promise<string | undefined>>();
  const read = (partition: number): Promise<string | undefined> => {
    const home = replica
      .read<PartitionValue>(partitionKey(partition))
      .then((record) => (record?.value.state === 'active' ? record.value.home : undefined));
    homes.set(partition, home);
    return home;
  };
  const homeOf: HomeOf = (partition) => homes.get(partition) ?? read(partition);
  homeOf.recheck = read;
  return homeOf;
}
