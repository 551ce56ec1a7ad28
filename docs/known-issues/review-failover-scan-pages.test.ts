import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoControlReplica, partitionKey } from '../../../lib/ownership/index.ts';
import type { RegionCell } from '../../../lib/runbooks/ports.ts';
import { ResultSpill } from '../../../lib/runbooks/spill.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

/*
 * Review of i15-failover, claim (4), cost side: ChooseNewHomes now reads the map with one Scan of each
 * region's WHOLE control table (FilterExpression applies after the read: every item is read, 1 MB a
 * page, pages one after the other). The control table also keeps the runbooks' spilled results
 * (lib/runbooks/spill.ts: 300 KB chunks kept 15 days, e.g. every nightly Repair and every big
 * Failover / Switchover), so the scan grows with history, not with partitions. In AWS each page of a
 * remote region's scan is one WAN round trip (up to ~219 ms), and the whole scan must fit in the
 * register's call timeout (routing.forwardTimeoutMs, 3 s) or that replica counts as down: past a few
 * MB of spills the "one round" Failover read waits for the timeout and falls back to the old two rounds
 * (slower than before the change). The sandbox's WanControlReplica charges one round trip for the
 * whole scan, so the bench cannot see it. Interleaving: a few big runbook results spilled in a region
 * (here 3, of ~300 KB each) -> Failover -> readAll scans that region's control table in several pages.
 * Fix: keep spills out of the control table (their own table or S3), or keep the partition registers
 * under one partition key so a Query (ConsistentRead) reads only them.
 */
let region: TestRegion;
let requests = 0;
let replica: DynamoControlReplica;
beforeAll(async () => {
  region = await freshRegion('eu-west-1');
  const counting = {
    send: (command: unknown) => {
      if (command instanceof ScanCommand) requests++;
      return region.doc.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  replica = new DynamoControlReplica({
    region: 'eu-west-1',
    client: counting,
    tableName: region.tables.control,
  });
});

describe('review-failover: the partition scan reads the partition registers, not the whole control table', () => {
  it('reads 256 partition entries in one Scan request even when runbook results were spilled in that table', async () => {
    // Three big runbook results (e.g. nightly Repairs) spilled into this region's control table.
    const cell = {
      region: 'eu-west-1',
      tables: { client: region.doc, control: region.tables.control },
    } as unknown as RegionCell;
    const spill = new ResultSpill(cell);
    for (let run = 0; run < 3; run++)
      await spill.store({
        reports: Array.from({ length: 3_000 }, (_, i) => ({ partition: i, detail: 'r'.repeat(90) })),
      });
    const keys = Array.from({ length: 256 }, (_, i) => partitionKey(i));
    for (const key of keys)
      await region.doc.send(
        new PutCommand({
          TableName: region.tables.control,
          Item: { pk: key, sk: 'REGISTER', epoch: 1, ballot: 'b', value: { home: 'eu-west-1' } },
        }),
      );

    requests = 0;
    const found = await replica.scan('PARTITION#');

    expect(found.size).toBe(256);
    // 256 small entries are one page's worth; every further request is a WAN round trip in AWS.
    expect(requests).toBe(1);
  });
});
