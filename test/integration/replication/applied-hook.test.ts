/**
 * The applier's `onApplied` hook: where the sandbox measures replication lag (the event readable in the peer,
 * as DynamoDB measures a global table's ReplicationLatency). It must fire once the event is in the log with
 * its row and before the watermark claims it, and the apply must still return only after that watermark
 * write (the invocation, and its retry, cover both).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { createApplier, WatermarkStore } from '../../../lib/replication/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { accountCommands, type Cell, makeCell, testAggregates, testTopology, uniqueId } from './cells.ts';

let east: Cell;
let west: Cell;

beforeAll(async () => {
  const cells: Cell[] = [];
  east = await makeCell('us-east-1', { peers: () => cells });
  west = await makeCell('eu-west-1', { peers: () => cells });
  cells.push(east, west);
});

/** West's applier with every hook call, watermark advance and return written to one log, in order. */
function tracedApplier() {
  const log: string[] = [];
  const topology = testTopology();
  const stores = west;
  class TracedWatermarks extends WatermarkStore {
    override async advance(origin: string, hlc: string, at: Date): Promise<boolean> {
      log.push(`advance ${origin}`);
      const advanced = await super.advance(origin, hlc, at);
      log.push(`advanced ${origin}`);
      return advanced;
    }
  }
  const apply = createApplier({
    region: west.region,
    topology,
    registry: createRegistry(testAggregates, topology),
    clock: west.clock,
    events: stores.events,
    states: stores.states,
    watermarks: new TracedWatermarks({ client: west.db.doc, tableName: west.db.tables.replication }),
    parking: stores.parking,
    quarantine: stores.quarantine,
    conflicts: stores.conflicts,
    onApplied(events) {
      log.push(`applied ${events.map((e) => `${e.aggregateId}@${e.seq}`).join(',')}`);
    },
  });
  const deliver = async (event: EventEnvelope) => {
    const outcome = await apply(structuredClone(event));
    log.push(`returned ${outcome.status}`);
    return outcome;
  };
  return { log, deliver };
}

describe('applier onApplied', () => {
  it('fires when an important event is in the log with its row, before the watermark, and the apply waits for the watermark', async () => {
    const id = uniqueId('hook-profile');
    const { events } = await east.execute({
      aggregateType: 'profile',
      aggregateId: id,
      command: { type: 'SetDisplayName', payload: { displayName: 'east' } },
    });
    const { log, deliver } = tracedApplier();
    expect((await deliver(events[0]!)).status).toBe('applied');
    expect(log).toEqual([`applied ${id}@1`, 'advance us-east-1', 'advanced us-east-1', 'returned applied']);
    expect(JSON.parse((await west.states.getState('profile', id))!.state).displayName).toBe('east');

    // A duplicate delivery puts nothing in the log: no lag sample.
    log.length = 0;
    expect((await deliver(events[0]!)).status).toBe('duplicate');
    expect(log.filter((l) => l.startsWith('applied'))).toEqual([]);
  });

  it('fires for a core event and the parked successor it drains, once both are in the log', async () => {
    const id = uniqueId('hook-account');
    const opened = await east.execute(accountCommands.open(id));
    const deposited = await east.execute(accountCommands.deposit(id, 5));
    const { log, deliver } = tracedApplier();
    expect((await deliver(deposited.events[0]!)).status).toBe('parked');
    expect(log.filter((l) => l.startsWith('applied'))).toEqual([]);
    expect((await deliver(opened.events[0]!)).status).toBe('applied');
    expect(log.slice(-4)).toEqual([
      `applied ${id}@1,${id}@2`,
      'advance us-east-1',
      'advanced us-east-1',
      'returned applied',
    ]);
    expect((await west.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('does not fire for a quarantined event', async () => {
    const { log, deliver } = tracedApplier();
    const poison = { ...sampleEnvelope({ origin: 'us-east-1' }), aggregateType: 'no-such-type' };
    expect((await deliver(poison)).status).toBe('quarantined');
    expect(log).toEqual(['returned quarantined']);
  });
});
