import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { rebuildRowFromLog, retireCoreBranch } from '../../../lib/commands/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { tableCell } from '../runbooks/runbook-cells.ts';

// A branch longer than one transaction (DynamoDB's 100 items): retired in chunks from the newest end,
// each chunk with the row folded from what the log keeps, so the log and the row agree after every chunk.

const topology = bank.topology('dev');
const registry = createRegistry(exampleAggregates, topology);
const account = registry.get('account');

let a: RegionCell;
beforeAll(async () => {
  const region = await freshRegion('us-east-1');
  const events = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  const states = new StateStore({ client: region.doc, tableName: region.tables.state });
  a = tableCell({ region: 'us-east-1', tables: region, events, states });
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

describe('a branch retire longer than one transaction', () => {
  it('retires all of it in chunks, queued first, and leaves the row at the fork point', async () => {
    const id = `chunks-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const log = chain(id, 150);
    for (let i = 0; i < log.length; i += 40)
      await a.events.appendEvents(log.slice(i, i + 40), { tier: 'core' });
    await rebuildRowFromLog(a, account, id);
    expect((await a.states.getState('account', id))?.seq).toBe(150);
    const losing = log.slice(3);
    const out = await retireCoreBranch({
      cell: a,
      queues: [a.conflicts],
      aggregate: account,
      losing,
      winning: log.slice(0, 3),
      reason: 'fork',
    });
    expect({
      retired: out.retired.map((e) => e.seq),
      queued: out.queued.length,
      log: (await a.events.loadStream('account', id)).map((e) => e.seq),
      row: (await a.states.getState('account', id))?.seq,
      records: (await a.conflicts.listForAggregate('account', id)).length,
    }).toEqual({
      retired: losing.map((e) => e.seq),
      queued: losing.length,
      log: [1, 2, 3],
      row: 3,
      records: losing.length,
    });
  });
});
