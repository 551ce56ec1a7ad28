/**
 * The shared set-up of the Failover-cut reviews (finding-2-cut, review-finding-2-*, review-finding-2b-*,
 * review-cw-late-2), on top of late-delivery-world's A/B/C world: the per-file cluster, the bank registry,
 * the production applier of a region over the cluster's tables (the cut checked), a whole Failover of A and
 * the quarantine records of an event, a region's own copy of a partition's entry.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import type { Topology } from '../../../lib/config/index.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  DynamoControlReplica,
  LeaseExpiredError,
  type PartitionValue,
  partitionKey,
} from '../../../lib/ownership/index.ts';
import {
  createApplier,
  eventStoreOriginReader,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../../../lib/replication/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { A, C, devTopology, failoverOfA } from './late-delivery-world.ts';

/** A getter of one cluster, started on first use (one per test file: call it at the file's top level). */
export function lazyCluster() {
  let shared: Promise<Cluster> | undefined;
  return () => {
    shared ??= startCluster({ leaseMs: 400, skewMarginMs: 100 });
    return shared;
  };
}

export const registry = createRegistry(exampleAggregates, devTopology);

export interface ApplierOptions {
  /** The applier's clock (default: the wall clock). */
  readonly now?: () => Date;
  /** Regions whose logs a gap fetch cannot read (the origin reader throws `<region> unreachable`). */
  readonly down?: ReadonlySet<string>;
  /** false: no origin reader at all (a gap is never fetched). */
  readonly originReader?: false;
}

/** The deps of `region`'s production applier (as the applier function wires them: the cut checked). */
export function applierDeps(c: Cluster, region: RegionName, options: ApplierOptions = {}) {
  const cell = c.cells[region];
  const { doc, tables } = cell.tables;
  const replication = { client: doc, tableName: tables.replication };
  const down = options.down;
  return {
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
    ...(options.originReader === false
      ? {}
      : {
          originReader: eventStoreOriginReader((origin) => {
            if (down?.has(origin)) throw new Error(`${origin} unreachable`);
            return c.cells[origin as RegionName].events;
          }),
        }),
    controlTable: tables.control,
    // As the applier function wires it: the home's lease over every region's control table (across links).
    homeLease: (partition: number) => cell.ownership.homeLeaseForApply(partition),
    now: options.now ?? (() => new Date()),
  };
}

/** Deliveries of one event the world makes when its apply keeps outliving the home's lease. */
const LEASE_REDELIVERIES = 5;

/**
 * The production applier of `region` over the cluster's tables, delivered as the bus delivers: an apply
 * that throws LeaseExpiredError (the home's 400 ms lease ran out between its majority read and the append,
 * a loaded machine: a CI run measured 793 ms; nothing was written) is delivered again, as Lambda retries the
 * failed invocation. Any other error is the test's to see.
 */
export const applierOf = (c: Cluster, region: RegionName, options?: ApplierOptions) => {
  const apply = createApplier(applierDeps(c, region, options));
  return async (...args: Parameters<typeof apply>): ReturnType<typeof apply> => {
    for (let delivery = 1; ; delivery++) {
      try {
        return await apply(...args);
      } catch (error) {
        if (!(error instanceof LeaseExpiredError) || delivery >= LEASE_REDELIVERIES) throw error;
      }
    }
  };
};

/** A whole Failover of A (isolated, unreachable) to C, every task run; `topology` as in failoverOfA. */
export async function wholeFailoverToC(c: Cluster, partition: number, topology?: Topology) {
  const fo = failoverOfA(c, partition, { to: C, ...(topology ? { topology } : {}) });
  c.links.isolate(A);
  try {
    for (const name of RUNBOOK_TASKS.failover) await fo.task(name);
  } finally {
    c.links.heal();
  }
  return fo;
}

/** Waits until the Failover's new home may write (BumpEpochs' `writableFrom`, plus a margin). */
export async function untilWritable(state: Record<string, unknown>) {
  const { writableFrom } = state.bumpEpochs as { writableFrom: number };
  await sleep(Math.max(0, writableFrom - Date.now()) + 50);
}

/** A whole Failover of A to C (`topology` as in failoverOfA); C writable afterwards. */
export async function failoverToC(c: Cluster, partition: number, topology?: Topology) {
  const fo = await wholeFailoverToC(c, partition, topology);
  await untilWritable(fo.state);
  return fo;
}

/** The reasons of `region`'s quarantine records of the event. */
export async function quarantinedReasons(c: Cluster, region: RegionName, eventId: string) {
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

/** `region`'s own copy of the partition's entry (what a seal check or the applier's home check reads). */
export async function ownCopy(c: Cluster, region: RegionName, partition: number) {
  const { doc, tables } = c.cells[region].tables;
  const own = new DynamoControlReplica({ region, client: doc, tableName: tables.control });
  return (await own.read<PartitionValue>(partitionKey(partition)))!;
}
