import { beforeAll, describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { catchUpCoreRow } from '../../../lib/commands/execute.ts';
import { ConcurrencyError, type StateRecord, type StateStore } from '../../../lib/store/index.ts';
import { accountCommands, type Cell, eastAndWest, uniqueId } from '../replication/cells.ts';

const { open, deposit } = accountCommands;

let east: Cell;
let west: Cell;

beforeAll(async () => {
  ({ east, west } = await eastAndWest(() => new Date()));
});

/**
 * West's state table as seen while another writer (the applier, a second API instance) moves the row each
 * time just before this one's conditional put: a real write of the row at a higher version, so the put
 * loses for real on DynamoDB Local.
 */
function racedStates(states: StateStore, lost: { puts: number }): StateStore {
  const raced = Object.create(states) as StateStore;
  const moveRow = async (record: StateRecord) => {
    lost.puts++;
    const current = (await states.getState(record.aggregateType, record.aggregateId)) as StateRecord;
    await states.putState({ ...current, version: current.version + 1, updatedAt: new Date().toISOString() });
  };
  raced.putStateIf = async (record, expected) => {
    await moveRow(record);
    return states.putStateIf(record, expected);
  };
  raced.putStateIfChecked = async (record, expected, checks) => {
    await moveRow(record);
    return states.putStateIfChecked(record, expected, checks);
  };
  return raced;
}

describe('catchUpCoreRow', () => {
  it('folds a quorum copy the row lacks', async () => {
    const id = uniqueId('catch-up');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 7))).events;
    await west.apply(structuredClone(e1!));
    await west.events.appendEvents([structuredClone(e2!)], { tier: 'core' });
    const row = await catchUpCoreRow(west, account, id);
    expect(row).toMatchObject({ seq: 2 });
    expect(JSON.parse(row.state)).toMatchObject({ balance: 7 });
  });

  // A row returned behind its log is what a command decides on: a refusal (InsufficientFunds) on it would
  // be an answer about a state that never was the aggregate's. Losing the race every time must not do that.
  it('never returns a row behind its log when every conditional put loses the race', async () => {
    const id = uniqueId('catch-up-raced');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 7))).events;
    await west.apply(structuredClone(e1!));
    await west.events.appendEvents([structuredClone(e2!)], { tier: 'core' });
    const lost = { puts: 0 };
    const outcome = await catchUpCoreRow(
      { events: west.events, states: racedStates(west.states, lost) },
      account,
      id,
    ).then(
      (row) => row,
      (error: unknown) => error,
    );
    // The race was run (every put of the catch-up met a moved row).
    expect(lost.puts).toBeGreaterThan(0);
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(ConcurrencyError);
    else expect(outcome).toMatchObject({ seq: 2 });
  });
});
