import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { multiRegionDeps } from '../../../lib/api/index.ts';
import {
  fencePartition,
  InMemoryControlReplica,
  movePartitionHome,
  PartitionFencedError,
  unfencePartition,
} from '../../../lib/ownership/index.ts';

// Never called: fenceCoreWrite reads only the control replicas (in memory here).
const unused = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
);

/** Two regions' ownership over the same three in-memory control replicas, each with its own wall clock. */
function regions(clocks: Record<string, () => number>) {
  const topology = bank.topology('dev');
  const replicas = topology.regions.map((r) => new InMemoryControlReplica(r.name));
  const build = (region: string) =>
    multiRegionDeps({
      topology,
      region,
      controlReplicas: replicas,
      controlTable: 'control',
      events: { client: unused, tableName: 'events' },
      states: { getState: async () => undefined },
      transport: { send: async () => ({ status: 503, headers: {}, body: '' }) },
      endpoints: {},
      fencing: {
        leaseMs: 1_000,
        skewMarginMs: 500,
        appendTimeoutMs: 200,
        maxClockOffsetMs: 100,
        quorumCopyTimeoutMs: 500,
      },
      now: clocks[region]!,
    });
  return { east: build('us-east-1'), west: build('eu-west-1') };
}

describe("a region's wall clock drives its ownership (leases, activeFrom)", () => {
  it('the new home writes before activeFrom by the real clock when its own clock runs ahead, not otherwise', async () => {
    let westOffset = 0;
    const { east, west } = regions({ 'us-east-1': Date.now, 'eu-west-1': () => Date.now() + westOffset });
    const partition = 5;
    await east.api.fenceCoreWrite(partition); // us-east-1 claims it
    // A switchover run by us-east-1's clock: the new home may write from unfence + lease + skew = +1.5 s.
    await fencePartition(east.map, partition);
    await movePartitionHome(east.map, partition, 'eu-west-1');
    const unfenced = await unfencePartition(east.map, partition);
    expect(unfenced.activeFrom).toBeGreaterThan(Date.now() + 1_000);
    await expect(west.api.fenceCoreWrite(partition)).rejects.toBeInstanceOf(PartitionFencedError);
    westOffset = 2_000;
    await expect(west.api.fenceCoreWrite(partition)).resolves.toMatchObject({ epoch: unfenced.epoch });
  });
});
