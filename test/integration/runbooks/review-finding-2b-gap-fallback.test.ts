import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { disableAllBugs } from '../../../lib/faults/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  createApplier,
  eventStoreOriginReader,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../../../lib/replication/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import {
  A,
  account,
  acknowledged,
  B,
  C,
  devTopology,
  failoverOfA,
  log,
  quorumTopology,
} from './late-delivery-world.ts';

/**
 * review-finding-2b: gapSources' fallback. The parked origins are tried highest epoch first; one that does
 * not answer (GapFetchError) passes to the next, here the lost home A, whose own log is read with the cut
 * checked at A's own (pre-cut) epoch. Checked: no fork, and convergence once the home answers again.
 */

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 400, skewMarginMs: 100 });
  return shared;
};

const registry = createRegistry(exampleAggregates, devTopology);

function applierOf(c: Cluster, region: RegionName, now: () => Date, down: Set<string>) {
  const cell = c.cells[region];
  const { doc, tables } = cell.tables;
  const replication = { client: doc, tableName: tables.replication };
  return createApplier({
    region,
    topology: devTopology,
    registry,
    clock: new HybridLogicalClock({ region }),
    events: cell.events,
    states: cell.states,
    watermarks: new WatermarkStore(replication),
    parking: new ParkingStore(replication),
    quarantine: new QuarantineStore({ client: doc, tableName: tables.quarantine }),
    conflicts: new ConflictRecordStore(replication),
    originReader: eventStoreOriginReader((origin) => {
      if (down.has(origin)) throw new Error(`${origin} unreachable`);
      return c.cells[origin as RegionName].events;
    }),
    controlTable: tables.control,
    now,
  });
}

async function failoverToC(c: Cluster, partition: number, quorum: boolean) {
  const fo = failoverOfA(c, partition, { to: C, ...(quorum ? { topology: quorumTopology } : {}) });
  c.links.isolate(A);
  try {
    for (const name of RUNBOOK_TASKS.failover) await fo.task(name);
  } finally {
    c.links.heal();
  }
  const { writableFrom } = fo.state.bumpEpochs as { writableFrom: number };
  await sleep(Math.max(0, writableFrom - Date.now()) + 50);
}

async function quarantinedReasons(c: Cluster, region: RegionName, eventId: string) {
  const { doc, tables } = c.cells[region].tables;
  const held = await doc.send(
    new ScanCommand({
      TableName: tables.quarantine,
      FilterExpression: 'eventId = :id',
      ExpressionAttributeValues: { ':id': eventId },
    }),
  );
  return (held.Items ?? []).map((q) => String(q.reason));
}

describe('review-finding-2b: the gap source fallback while the home is unreachable', {
  timeout: 120_000,
}, () => {
  afterEach(() => {
    disableAllBugs();
  });

  it('C (home, highest parked epoch) unreachable: the fetch falls back to A’s log, where the cut refuses A’s seq 3 (quarantined though it is in C’s history); once C answers, B converges on C (the quarantine record stays)', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'r2b-fallback');
    const fourth = await acknowledged(c, A, id, 7);
    await c.replicate(A, C, 'account', id);
    let offsetMs = 0;
    const down = new Set<string>();
    const applyB = applierOf(c, B, () => new Date(Date.now() + offsetMs), down);
    expect((await applyB(structuredClone(fourth))).status).toBe('parked');
    await failoverToC(c, partition, false);
    const fifth = await acknowledged(c, C, id, 5);
    expect((await applyB(structuredClone(fifth))).status).toBe('parked');
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    down.add(C);
    // Every source failing to fill the gap: the first failure (C's) is thrown, the delivery retried.
    await expect(applyB(structuredClone(fifth))).rejects.toThrow(/from ap-southeast-1/);
    expect((await log(c, B, id)).map((e) => e.seq)).toEqual([1, 2]);
    expect(await quarantinedReasons(c, B, unreplicated.eventId)).toEqual(['SupersededByFailover']);
    down.delete(C);
    const again = await applyB(structuredClone(fifth));
    expect(again.status).toBe('applied');
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atC.map((e) => e.eventId));
  });
});
