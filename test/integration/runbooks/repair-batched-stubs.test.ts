import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import { ArchivedStubAppendError, isArchivedStub } from '../../../lib/store/index.ts';
import type { Cell } from '../replication/cells.ts';
import { A, batchedWorld, C, regionCell } from './branch-cells.ts';

const run = () => `bs${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe("Repair's batched delivery and archived stubs", () => {
  it('never writes an archived stub: the run goes in up to it, the stub and what follows are left over, appendItems refuses it', async () => {
    const { cells: list, branches } = await batchedWorld([A, C]);
    const [a, c] = list as [Cell, Cell];
    const aggregateId = run();
    const written: EventEnvelope[] = [];
    written.push(
      ...(
        await a.execute({
          aggregateType: 'account',
          aggregateId,
          command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
        })
      ).events,
    );
    for (const amount of [5, 7])
      written.push(
        ...(
          await a.execute({
            aggregateType: 'account',
            aggregateId,
            command: { type: 'Deposit', payload: { amount } },
          })
        ).events,
      );
    const [first, second, third] = written as [EventEnvelope, EventEnvelope, EventEnvelope];
    // The second event as a log that archived it would hand it over: marked archived (its payload kept
    // here, so only the mark, not an invalid payload, can keep it out).
    const stub = { ...structuredClone(second), archived: true } as EventEnvelope;
    expect(isArchivedStub(stub)).toBe(true);

    const result = await deliverBatched(
      regionCell(c),
      [structuredClone(first), stub, structuredClone(third)],
      branches,
    );

    expect(result.delivered).toBe(1);
    expect(result.leftover.map((e) => e.eventId)).toEqual([second.eventId, third.eventId]);
    const log = await c.events.loadStream('account', aggregateId);
    expect(log.map((e) => e.eventId)).toEqual([first.eventId]);
    expect(log.some(isArchivedStub)).toBe(false);
    expect((await c.states.getState('account', aggregateId))?.seq).toBe(1);
    expect(() => c.events.appendItems([stub], { tier: 'core' })).toThrow(ArchivedStubAppendError);
  });
});
