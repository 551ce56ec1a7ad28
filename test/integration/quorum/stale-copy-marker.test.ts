import { describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { settleCoreAggregate } from '../../../lib/runbooks/index.ts';
import type { RegionCell } from '../../../lib/runbooks/ports.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import { quiesceAndCheck } from './clients.ts';
import { failover, HOLDER, HOME, lateDelivery, NEW_HOME } from './late-delivery.ts';
import { afterNextLocalAppend, payloads } from './quorum-cluster.ts';

/**
 * Found by an adversarial review of the copy-marker fix: a branch retire leaves a region's copy marker
 * naming an event its log no longer holds, and a Failover's collection that took the marker for the
 * holder's head then lost an acknowledged write. Interleaving: HOME takes deposits 10 and 20 that no peer
 * gets (503), is lost, and NEW_HOME takes over; the bus then delivers HOME's events to HOLDER (copy marker
 * seq 3); NEW_HOME takes deposit 5 and, between its local append and its copy, a Repair's fork settlement
 * retires 10 and 20 at HOLDER (the marker stays at seq 3) and delivers deposit 5 there by a path that does
 * not move the marker; the copy finds it stored, the marker ahead: acknowledged. HOME comes back with its old branch (seq 3 = deposit 20), NEW_HOME is lost and
 * HOME is chosen: its row matches the stale marker exactly.
 */

/**
 * A region whose deliveries do not move its copy marker (as the settlement's did before, and as the
 * collection's and Repair's adoptions into a home still do): the marker keeps naming the retired event.
 */
function unmarked(cell: RegionCell): RegionCell {
  const events = Object.create(cell.events) as EventStore;
  events.appendEvents = (batch, options) => cell.events.appendEvents(batch, { ...options, received: false });
  return { ...cell, events };
}

async function staleMarkerScenario() {
  const { cluster, client, id } = await lateDelivery([10, 20]);
  const account = exampleAggregates.find((a) => a.name === 'account')!;
  const deps = cluster.runbookDeps(NEW_HOME);
  afterNextLocalAppend(cluster, NEW_HOME, () =>
    settleCoreAggregate({
      aggregate: account,
      aggregateId: id,
      cells: [deps.cell(NEW_HOME), unmarked(deps.cell(HOLDER))],
      home: NEW_HOME,
    }).then(() => undefined),
  );
  const acked = await client.send(NEW_HOME, 'deposit', id, 5);
  cluster.links.heal();
  cluster.links.isolate(NEW_HOME);
  const second = await failover(cluster, HOME, NEW_HOME);
  const moved = (second.bumpEpochs as { moved: Array<{ home: string }> }).moved;
  const log = await cluster.regions[HOME]!.events.loadStream('account', id);
  const anomalies = await quiesceAndCheck(cluster, client, { survivors: [HOME, HOLDER], ids: [id] });
  return { acked, moved, log, anomalies: anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`) };
}

describe('failover collection after a branch retire left a stale copy marker', { timeout: 180_000 }, () => {
  it("reads the holder's log head, and keeps the write acknowledged through that holder", async () => {
    const { acked, moved, log, anomalies } = await staleMarkerScenario();
    expect(acked).toBe(200);
    expect(moved.map((m) => m.home)).toContain(HOME);
    expect(payloads(log)).toContainEqual({ amount: 5 });
    expect(anomalies).toEqual([]);
  });

  it('with the bug switch marker-trusting-collection, the chaos checkers report the lost write', async () => {
    const { acked, log, anomalies } = await withBug('marker-trusting-collection', staleMarkerScenario);
    expect(acked).toBe(200);
    expect(payloads(log)).not.toContainEqual({ amount: 5 });
    expect(anomalies).toContain(`core/lost-write@${HOME}`);
  });
});
