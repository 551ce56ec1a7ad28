import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { partitionKey } from '../../../lib/ownership/partition-map.ts';
import { collectCopies } from '../../../lib/runbooks/collect-copies.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import type { FencedMove } from '../../../lib/runbooks/partition-moves.ts';
import { AccountClient } from './clients.ts';
import { REGIONS_3, runTasks, startQuorumCluster } from './quorum-cluster.ts';

const U = 'us-east-1';

/*
 * Review 2 of i15-failover (dce9208): "CollectCopies counts a region sealed only if none of its seal
 * writes failed". Safe (a region with a failed seal write is never read as sealed), but the verdict is per
 * REGION while the seal is per PARTITION: one partition's failed seal write un-seals that survivor for
 * every partition of the failover.
 *
 * Interleaving (3 regions, core.ack quorum, U lost; partitions A and B homed in U, both fenced):
 * the lost home is cut off from the majority but still reaches one survivor S (that is what the seal is
 * for) and keeps sending quorum copies for A: each carries a ConditionCheck on S's PARTITION#A register,
 * so S answers the seal transaction with TransactionConflict on A through the 3 transaction tries and the 4
 * single puts (injected at the SDK boundary below: DynamoDB Local serialises transactions and never
 * reports the conflict; every other call reaches DynamoDB Local). B's seal at S is stored. sealSurvivors
 * sees outcomes [failed, stored] -> S is not sealed -> only the new home is sealed, 1 < majority 2 -> B is
 * blocked too ("did not answer" / too few regions), though S IS sealed for B and answered. With hundreds
 * of partitions, one busy register leaves every moved partition fenced (unavailable) after the Failover.
 * Fix: keep the sealed regions per partition (region -> set of keys whose outcome is stored/refused) and
 * give collectPartition the regions sealed for ITS key.
 */
/** The scenario above: CollectCopies with A's register busy at S; returns its report and the two partitions. */
async function collectWithOneBusyRegister() {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const stamp = Date.now().toString(36);
  const ids: string[] = [];
  const partitions = new Set<number>();
  for (let i = 0; ids.length < 2; i++) {
    const id = `rv2-seal-${stamp}-${i}`;
    const p = partitionOf(id, cluster.topology.partitions);
    if (partitions.has(p)) continue;
    partitions.add(p);
    ids.push(id);
    expect(await client.send(U, 'open', id)).toBe(200);
  }
  const [a, b] = [...partitions];
  cluster.links.isolate(U);

  const survivor = 'eu-west-1';
  const deps = cluster.runbookDeps(survivor);
  const run = createRunbookDispatcher(deps);
  const state = await runTasks(run, 'failover', ['ConfirmRegionLost', 'ChooseNewHomes', 'FencePartitions'], {
    region: U,
    trigger: 'test',
  });
  const { fenced } = state.fencePartitions as { fenced: FencedMove[] };
  expect(fenced.map((f) => f.entry.partition).sort()).toEqual([a!, b!].sort());
  const toB = fenced.find((f) => f.entry.partition === b)!.to;
  // S: the survivor that is not B's new home (so B needs S's seal), where A's register is busy.
  const s = REGIONS_3.find((r) => r !== U && r !== toB)!;
  const HELD = partitionKey(a!);
  const real = deps.cell(s);
  // A DynamoDBDocumentClient by its prototype: the marker query's paginator refuses any other client (a
  // plain { send } object failed S's marker read, which blocked B for a reason of the test's own).
  const busy = Object.assign(Object.create(real.tables.client) as DynamoDBDocumentClient, {
    send: (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        const items = command.input.TransactItems ?? [];
        const held = items.findIndex((i) => i.Put?.Item?.pk === HELD);
        if (held >= 0)
          return Promise.reject(
            new TransactionCanceledException({
              message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
              $metadata: {},
              CancellationReasons: items.map((_, k) =>
                k === held
                  ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
                  : { Code: 'None' },
              ),
            }),
          );
      }
      if (command instanceof PutCommand && command.input.Item?.pk === HELD)
        return Promise.reject(
          new TransactionConflictException({
            message: 'Transaction is ongoing for the item',
            $metadata: {},
          }),
        );
      return real.tables.client.send(command as never);
    },
  });
  const hooked: RunbookDeps = {
    ...deps,
    cell: (r) => (r === s ? { ...real, tables: { ...real.tables, client: busy } } : deps.cell(r)),
  };

  const report = await collectCopies(hooked, { lost: U, fenced });
  return { report, a: a!, b: b! };
}

describe('review-failover-2: one failed seal write at a survivor', () => {
  it('blocks only the partition whose seal failed, not every partition of the failover', async () => {
    const { report, b } = await collectWithOneBusyRegister();
    // A may be blocked (its seal at S failed); B's seal at S was stored: B must not be blocked.
    expect(report.blocked, JSON.stringify(report.blocked)).not.toContainEqual(
      expect.objectContaining({ partition: b }),
    );
  }, 60_000);

  it('blocks every partition that needed S with the bug switch per-region-seal on', async () => {
    const { report, b } = await withBug('per-region-seal', () => collectWithOneBusyRegister());
    expect(report.blocked.map((x) => x.partition)).toContain(b);
  }, 60_000);
});
