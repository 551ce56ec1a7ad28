import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoControlReplica, nextPartitionValue, partitionKey } from '../../../lib/ownership/index.ts';
import { readFailoverRecord } from '../../../lib/runbooks/failover-record.ts';
import {
  createRunbookDispatcher,
  type RunbookDeps,
  type RunbookRequest,
} from '../../../lib/runbooks/index.ts';
import { loadTemplates, PROJECT_ROOT, type StackTemplates } from '../../../lib/sandbox/cdk/templates.ts';
import { stateMachinesOf } from '../../../lib/sandbox/state-machines/definitions.ts';
import {
  DATA_LIMIT_EXCEEDED,
  PAYLOAD_QUOTA_BYTES,
  StateMachineRunner,
} from '../../../lib/sandbox/state-machines/runner.ts';
import { BANK_CONFIG } from '../../support/bank.ts';
import { REGIONS, type RegionName, startCluster } from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * The synthesized Failover machine, run by the sandbox's Step Functions (which enforces the 256 KiB state
 * quota as AWS does), over the real runbook tasks and a partition map of 2,048 partitions on DynamoDB
 * Local: 683 of them homed in the lost region, ~480 bytes of state each when every result stays inline.
 */
const PARTITIONS = 2_048;
const LOST: RegionName = 'ap-southeast-1';
const RUNS_IN = 'eu-west-1';
const env = { region: RUNS_IN, account: '111111111111' };
let templates: StackTemplates;
const homedAt = (p: number) => REGIONS[p % 3];

beforeAll(async () => {
  ({ templates } = await loadTemplates({
    topology: bank.topology('dev'),
    config: BANK_CONFIG,
    stackNames: [...REGIONS.map((r) => `multiactive-dev-${r}`), 'multiactive-dev-global'],
    cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
  }));
}, 180_000);

/** A fresh three-region cluster whose map homes every partition, round robin; Failover deps seeing LOST down. */
async function clusterOfManyPartitions(): Promise<RunbookDeps> {
  // The three regions share one DynamoDB Local here: batch rounds of a few hundred conditional puts need
  // the 3 s call timeout the deployed register uses (topology.routing.forwardTimeoutMs; the cluster's default).
  const cluster = await startCluster();
  const base = clusterRunbookDeps(cluster, RUNS_IN, async (_observer, target) => ({
    reachable: target !== LOST,
    heartbeatAgeMs: null,
  }));
  // Seeded straight into every control table (epoch 1, as a first claim commits it), not over the links.
  const records = Array.from({ length: PARTITIONS }, (_, p) => ({
    key: partitionKey(p),
    record: {
      epoch: 1,
      ballot: `seed-${p}`,
      value: nextPartitionValue(null, { home: homedAt(p)! }, { now: Date.now(), holdMs: 0 }),
    },
  }));
  for (const region of REGIONS) {
    const { doc, tables } = cluster.cells[region].tables;
    const replica = new DynamoControlReplica({ region, client: doc, tableName: tables.control });
    expect((await replica.writeMany(records)).every(Boolean)).toBe(true);
  }
  cluster.links.isolate(LOST);
  return { ...base, topology: { ...base.topology, partitions: PARTITIONS } };
}

function failoverRunner(deps: RunbookDeps) {
  const run = createRunbookDispatcher(deps);
  return new StateMachineRunner({
    machines: stateMachinesOf(templates[`multiactive-dev-${RUNS_IN}`]!, env),
    waitScale: 0.001,
    invoke: async (_region, _fn, payload) => run(payload as RunbookRequest),
  });
}

const lostPartitions = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => homedAt(p) === LOST);

describe(`Failover of ${PARTITIONS} partitions through the synthesized state machine`, () => {
  it('moves every partition of the lost region with a state that stays under 256 KiB (big results spilled to the control table)', async () => {
    const deps = await clusterOfManyPartitions();
    const result = await failoverRunner(deps).run(RUNS_IN, 'Failover', { region: LOST, trigger: 'test' });
    expect(result.taskErrors).toEqual([]);
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as Record<string, Record<string, unknown>>;
    expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThanOrEqual(PAYLOAD_QUOTA_BYTES);
    // The stubs keep what operators and Choice states read.
    expect(output.chooseNewHomes).toMatchObject({ movesCount: lostPartitions.length });
    expect(output.bumpEpochs).toMatchObject({ movedCount: lostPartitions.length });
    expect(typeof output.bumpEpochs!.writableFrom).toBe('number');

    const entries = await deps.map.readMany(lostPartitions);
    const moved = lostPartitions.filter((p) => {
      const entry = entries.get(p);
      return entry?.state === 'active' && entry.home !== LOST;
    });
    expect(moved).toHaveLength(lostPartitions.length);
    const record = await readFailoverRecord(deps.register, LOST);
    expect(record?.moves.map((m) => m.partition)).toEqual(lostPartitions);
  }, 240_000);

  it('finds the broken build: with every result inline, the execution fails with States.DataLimitExceeded', async () => {
    const deps = await clusterOfManyPartitions();
    const result = await withBug('failover-results-inline', () =>
      failoverRunner(deps).run(RUNS_IN, 'Failover', { region: LOST, trigger: 'test' }),
    );
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    // Terminal: the machine's catch-all did not turn it into FailoverFailed.
    expect(result.states).not.toContain('FailoverFailed');
  }, 240_000);
});
