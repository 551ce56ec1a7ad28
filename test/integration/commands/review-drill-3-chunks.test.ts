import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import {
  archiveAwareFold,
  foldCoreLog,
  rebuildRowFromLog,
  retireCoreBranch,
} from '../../../lib/commands/retire-branch.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { SnapshotStore, snapshotOf } from '../../../lib/lifecycle/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { aggregateKey, eventSortKey } from '../../../lib/store/keys.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { tableCell } from '../runbooks/runbook-cells.ts';

// Review 3 of i17-drill (9361eff, cdf80f3), F4: a multi-chunk retire in a region that archived its oldest
// events and whose newest snapshots (SNAPSHOTS_KEPT = 3, older ones pruned) all lie on the losing branch.
// Chunk 1 folds its row from a snapshot the log still confirms (on the branch); the last chunk must fold
// from one below the fork, none is left: HistoryIncompleteError AFTER chunk 1 committed. Guarantee
// attacked: "no reader sees part of a branch gone" / the end state is the branch gone or left whole.

const topology = bank.topology('dev');
const registry = createRegistry(exampleAggregates, topology);
const account = registry.get('account');

let region: TestRegion;
let a: RegionCell & { snapshots: SnapshotStore };
beforeAll(async () => {
  region = await freshRegion('us-east-1', 'rv3');
  const events = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  const states = new StateStore({ client: region.doc, tableName: region.tables.state });
  const snapshots = new SnapshotStore({ client: region.doc, tableName: region.tables.snapshots });
  a = { ...tableCell({ region: 'us-east-1', tables: region, events, states }), snapshots } as RegionCell & {
    snapshots: SnapshotStore;
  };
});

function chain(id: string, n: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let seq = 1; seq <= n; seq++)
    out.push(
      seq === 1
        ? sampleEnvelope({
            aggregateId: id,
            seq,
            type: 'AccountOpened',
            payload: { owner: 'o', currency: 'EUR' },
          })
        : sampleEnvelope({ aggregateId: id, seq, prev: out.at(-1)?.hlc ?? null, payload: { amount: 1 } }),
    );
  return out;
}

async function archivedBranch() {
  const id = `rv3-chunks-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const log = chain(id, 150);
  for (let i = 0; i < log.length; i += 40)
    await a.events.appendEvents(log.slice(i, i + 40), { tier: 'core' });
  // Snapshots every 10 events: the three newest kept (30, 40, 50), the one at 2 long pruned.
  for (const k of [30, 40, 50])
    await a.snapshots.put(snapshotOf(account, foldCoreLog(account, id, log.slice(0, k)), log[k - 1]!));
  // Archived below the (since pruned) snapshot at seq 2: the log starts at seq 3.
  for (const e of log.slice(0, 2))
    await region.doc.send(
      new DeleteCommand({
        TableName: region.tables.events,
        Key: { pk: aggregateKey(e.aggregateType, e.aggregateId), sk: eventSortKey('core', e) },
      }),
    );
  await rebuildRowFromLog(a, account, id, await archiveAwareFold(a, account, id));
  const losing = log.slice(3);
  const outcome = await retireCoreBranch({
    cell: a,
    queues: [a.conflicts],
    aggregate: account,
    losing,
    winning: log.slice(0, 3),
    reason: 'fork',
  }).then(
    () => 'done',
    (error: Error) => error.name,
  );
  const seqs = (await a.events.loadStream('account', id)).map((e) => e.seq);
  const open = (await a.conflicts.listForAggregate('account', id)).filter((r) => r.status === 'open');
  return { outcome, branchLeft: seqs.filter((s) => s >= 4).length, losing, open: open.length };
}

describe('review 3: a chunked retire over an archived log whose kept snapshots are on the branch', () => {
  it('is refused before anything is queued or deleted when the row it would end with cannot be folded', async () => {
    const { outcome, branchLeft, losing, open } = await archivedBranch();
    expect({ outcome, branchLeft, open }).toEqual({
      outcome: 'HistoryIncompleteError',
      branchLeft: losing.length,
      open: 0,
    });
  });

  it('with retire-folds-chunk-by-chunk, stops half-way: the first chunk deleted, the rest left', async () => {
    const { outcome, branchLeft, losing } = await withBug('retire-folds-chunk-by-chunk', archivedBranch);
    expect(outcome).toBe('HistoryIncompleteError');
    expect(branchLeft).toBeGreaterThan(0);
    expect(branchLeft).toBeLessThan(losing.length);
  });
});
