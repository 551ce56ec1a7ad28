import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import type { StateStore } from '../../../lib/store/index.ts';
import type { Cell } from '../replication/cells.ts';
import { A, batchedWorld, C, regionCell } from './branch-cells.ts';

/**
 * Guarantee attacked: after Repair's delivery the core row is the fold of the log (direct delivery
 * catches the row up from the log after a duplicate append). Interleaving: Repair lists C as lacking
 * seq 2..3 and reads C's row (seq 1); then copies of seq 2..3 land in C's log without its row (a
 * quorum-ack copy, or the applier's general path between its append and its catch-up); then Repair's
 * transaction. Its group is refused (keys taken), the aggregate goes alone, appendEvents finds every
 * event a duplicate and writes nothing (the row Put rides only with fresh events), and the catch-up
 * is handed the row Repair folded (seq 3) as if it had been written: nothing past seq 3, so the real
 * row stays at seq 1 under a log at seq 3.
 */
describe('review: a core run whose events all land meanwhile as copies', () => {
  /** The interleaving: C's log and row after the batch, and A's row (the fold of the same log). */
  async function copiesLandMeanwhile() {
    const { cells: list, branches } = await batchedWorld([A, C]);
    const [a, c] = list as [Cell, Cell];
    const id = `rd${process.pid}${Date.now().toString(36)}`;
    const log: EventEnvelope[] = [];
    log.push(
      ...(
        await a.execute({
          aggregateType: 'account',
          aggregateId: id,
          command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
        })
      ).events,
    );
    for (const amount of [5, 7])
      log.push(
        ...(
          await a.execute({
            aggregateType: 'account',
            aggregateId: id,
            command: { type: 'Deposit', payload: { amount } },
          })
        ).events,
      );
    await c.apply(structuredClone(log[0]!));
    let fired = false;
    const states = Object.create(c.states, {
      getState: {
        value: async (...args: Parameters<StateStore['getState']>) => {
          const row = await c.states.getState(...args);
          if (!fired && args[1] === id) {
            fired = true;
            // The copies land after Repair read the row: events only, the row untouched.
            await c.events.appendEvents([structuredClone(log[1]!), structuredClone(log[2]!)], {
              tier: 'core',
              received: true,
            });
          }
          return row;
        },
      },
    }) as StateStore;

    await deliverBatched(
      { ...regionCell(c), states },
      [log[1]!, log[2]!].map((e) => structuredClone(e)),
      branches,
    );

    expect(fired).toBe(true);
    expect((await c.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2, 3]);
    const [row, home] = await Promise.all([c, a].map((x) => x.states.getState('account', id)));
    return { row, home };
  }

  it("leaves C's row the fold of its log", async () => {
    const { row, home } = await copiesLandMeanwhile();
    expect(row?.seq).toBe(3);
    expect(row?.state).toBe(home?.state);
  }, 60_000);

  it('finds the broken build: with repair-batch-trusts-duplicate-row the row stays behind its log', async () => {
    const { row, home } = await withBug('repair-batch-trusts-duplicate-row', copiesLandMeanwhile);
    expect(row?.seq).toBe(1);
    expect(row?.state).not.toBe(home?.state);
  }, 60_000);
});
