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
function racedStates(states: StateStore): StateStore {
  const raced = Object.create(states) as StateStore;
  raced.putStateIf = async (record, expected) => {
    const current = (await states.getState(record.aggregateType, record.aggregateId)) as StateRecord;
    await states.putState({ ...current, version: current.version + 1, updatedAt: new Date().toISOString() });
    return states.putStateIf(record, expected);
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
    const outcome = await catchUpCoreRow(
      { events: west.events, states: racedStates(west.states) },
      account,
      id,
    ).then(
      (row) => row,
      (error: unknown) => error,
    );
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(ConcurrencyError);
    else expect(outcome).toMatchObject({ seq: 2 });
  });
});
