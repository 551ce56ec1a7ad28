import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AccountState, exampleSagas, TransferClosed } from '../../../examples/bank/index.ts';
import { executeCommand } from '../../../lib/commands/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import {
  DynamoDueSagaSource,
  FINISHED,
  regionSagas,
  type SagaExecutionInput,
  type SagaStarter,
  type SagaState,
  sagaCatalog,
  sweepSagas,
} from '../../../lib/sagas/index.ts';
import { executeSaga } from '../../support/saga-machine.ts';
import {
  type Cell,
  type Cluster,
  command,
  deposit,
  openAccount,
  type RegionName,
  startCluster,
} from '../routing/cluster.ts';

const HOLD_MS = 60_000;
const RESUME_AFTER_MS = 30_000;

/** Each region's StartExecution: runs the saga's tasks as the machine would, unless paused (a lost start). */
class InlineStarter implements SagaStarter {
  readonly started: Array<{ name: string; input: SagaExecutionInput }> = [];
  paused = false;
  run: Parameters<typeof executeSaga>[0] | undefined;
  readonly runs: Promise<unknown>[] = [];

  async start(input: SagaExecutionInput, name: string): Promise<void> {
    this.started.push({ name, input });
    if (this.paused || !this.run) return;
    this.runs.push(executeSaga(this.run, input));
  }
}

let cluster: Cluster;
const starters = {} as Record<RegionName, InlineStarter>;
const handlers = {} as Record<RegionName, ReturnType<typeof regionSagas>['handler']>;
/** Each region's clock for its sagas: real time plus an offset a test may move forward. */
const ahead = {} as Record<RegionName, number>;
/** Each region's command deps (a test sends a step to the home directly, as a late delivery). */
const commandsOf = {} as Record<RegionName, Parameters<typeof executeCommand>[0]>;

beforeAll(async () => {
  cluster = await startCluster({
    // Generous timers: a loaded machine must not turn a forward or a lease renewal into a 503 here.
    forwardTimeoutMs: 5_000,
    leaseMs: 5_000,
    sagas: (cell) => {
      const starter = new InlineStarter();
      ahead[cell.name] = 0;
      commandsOf[cell.name] = cell.commands;
      const wired = regionSagas({
        now: () => Date.now() + ahead[cell.name],
        sagas: exampleSagas,
        commands: cell.commands,
        router: cell.router,
        homes: cell.ownership,
        starter,
        states: { client: cell.tables.doc, tableName: cell.tables.tables.state },
        timers: { holdMs: HOLD_MS, resumeAfterMs: RESUME_AFTER_MS, waitMs: 3_000 },
      });
      starter.run = wired.handler;
      starters[cell.name] = starter;
      handlers[cell.name] = wired.handler;
      return wired.api;
    },
  });
}, 60_000);

/**
 * A setup write, sent again on 503 as a client would (a first write claims its partition through a
 * majority of control tables, which a loaded machine may not answer in time).
 */
async function setup(cell: Cell, id: string, body: unknown) {
  for (let attempt = 1; ; attempt++) {
    const answer = await command(cell, 'account', id, body);
    if (answer.status !== 503 || attempt === 10) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function account(cell: Cell, balance: number): Promise<string> {
  const id = cluster.freshId(`acct-${cell.name}`);
  expect((await setup(cell, id, openAccount())).status).toBe(200);
  if (balance > 0)
    expect((await setup(cell, id, { ...deposit(balance), idempotencyKey: `fund-${id}` })).status).toBe(200);
  return id;
}

async function stateOf(cell: Cell, id: string): Promise<AccountState> {
  const answer = await cell.call({ method: 'GET', path: `/v1/account/${id}` });
  return answer.body.state as AccountState;
}

const post = (cell: Cell, body: unknown, query = '') =>
  cell.call({ method: 'POST', path: `/v1/transfers${query}`, body: JSON.stringify(body) });

/**
 * The transfer as its home has it once its execution has run. `?wait=true` answers 200 with the outcome
 * when the transfer ended within the wait, else 202 (a loaded machine): either answer must say so.
 */
async function ended(home: RegionName, answer: Awaited<ReturnType<typeof post>>) {
  expect([200, 202]).toContain(answer.status);
  expect(answer.status === 200).toBe(FINISHED.has(answer.body.status as SagaState['status']));
  await Promise.all(starters[home].runs);
  const read = await cluster.cells[home].call({
    method: 'GET',
    path: `/v1/transfers/${String(answer.body.transferId)}`,
  });
  return read.body;
}

afterEach(() => disableAllBugs());

describe('transfers through the API handler (three regions on DynamoDB Local)', () => {
  it('confirms a transfer begun in a region that is not the source home: forwarded there, debit local, credit forwarded', async () => {
    const { 'us-east-1': a, 'eu-west-1': b, 'ap-southeast-1': c } = cluster.cells;
    const from = await account(a, 100);
    const to = await account(c, 0);
    const answer = await post(b, { from, to, amount: 40, idempotencyKey: 'int-1' }, '?wait=true');
    expect(answer.headers['X-Multiactive-Region']).toBe('us-east-1');
    expect(await ended('us-east-1', answer)).toMatchObject({ status: 'confirmed', from, to, amount: 40 });
    const transferId = String(answer.body.transferId);
    expect(partitionOf(transferId, 256)).toBe(partitionOf(from, 256));
    expect(starters['us-east-1'].started.map((s) => s.name)).toContain(transferId);
    expect(await stateOf(a, from)).toMatchObject({ balance: 60, held: 0 });
    expect(await stateOf(c, to)).toMatchObject({ balance: 40 });
  });

  it('credits once when every forwarded step is delivered twice', async () => {
    const { 'us-east-1': a, 'ap-southeast-1': c } = cluster.cells;
    const from = await account(a, 10);
    const to = await account(c, 0);
    cluster.links.duplicate('us-east-1', 'ap-southeast-1');
    try {
      const answer = await post(a, { from, to, amount: 10, idempotencyKey: 'int-dup' }, '?wait=true');
      expect(await ended('us-east-1', answer)).toMatchObject({ status: 'confirmed' });
    } finally {
      cluster.links.heal();
    }
    await Promise.all(starters['us-east-1'].runs);
    const credits = (await c.events.loadStream('account', to)).filter((e) => e.type === 'TransferCredited');
    expect(credits).toHaveLength(1);
    expect(await stateOf(c, to)).toMatchObject({ balance: 10 });
    expect(await stateOf(a, from)).toMatchObject({ balance: 0, held: 0 });
  });

  it('refuses bad input over the handler with a 4xx JSON error, writing nothing', async () => {
    const { 'us-east-1': a, 'eu-west-1': b } = cluster.cells;
    const from = await account(a, 10);
    const to = await account(b, 0);
    const before = await a.events.loadStream('account', from);
    const cases: Array<[unknown, number, string]> = [
      [{ from, to: from, amount: 1, idempotencyKey: 'b1' }, 400, 'InvalidRequest'],
      [{ from, to: 'nobody-here', amount: 1, idempotencyKey: 'b2' }, 422, 'AccountNotOpen'],
      [{ from, to, amount: 2.5, idempotencyKey: 'b3' }, 400, 'InvalidRequest'],
      [{ from, to, amount: 0, idempotencyKey: 'b4' }, 400, 'InvalidRequest'],
      [{ from, to, amount: 11, idempotencyKey: 'b5' }, 422, 'InsufficientFunds'],
      [{ from, to, amount: 1 }, 400, 'InvalidRequest'],
      [{ from, to, amount: '1', idempotencyKey: 'b6' }, 400, 'InvalidRequest'],
      [[from, to, 1], 400, 'InvalidRequest'],
    ];
    for (const [body, status, error] of cases) {
      const answer = await post(a, body);
      expect({ body, status: answer.status, error: answer.body.error }).toEqual({ body, status, error });
    }
    const broken = await a.call({ method: 'POST', path: '/v1/transfers', body: '{"from":' });
    expect(broken).toMatchObject({ status: 400, body: { error: 'InvalidJson' } });
    const ok = await post(a, { from, to, amount: 3, idempotencyKey: 'b7' }, '?wait=true');
    expect(await ended('us-east-1', ok)).toMatchObject({ status: 'confirmed' });
    const reused = await post(a, { from, to, amount: 4, idempotencyKey: 'b7' });
    expect(reused).toMatchObject({ status: 422, body: { error: 'IdempotencyKeyReused' } });
    const after = await a.events.loadStream('account', from);
    // Only the one good transfer moved anything: its hold and its settlement.
    expect(after.slice(before.length).map((e) => e.type)).toEqual(['HoldPlaced', 'HoldSettled']);
    expect(await stateOf(a, from)).toMatchObject({ balance: 7, held: 0 });
  });

  it('lets only sagas send the internal step commands', async () => {
    const { 'eu-west-1': b } = cluster.cells;
    const to = await account(b, 0);
    const forged = await command(b, 'account', to, {
      type: 'CreditTransfer',
      payload: { transferId: 'tr-forged', amount: 1_000, from: 'x', at: 1 },
    });
    expect(forged).toMatchObject({ status: 403, body: { error: 'InternalCommand' } });
    // Naming a saga is a peer's privilege (its request is signed); a client that names one is refused.
    const posing = await command(b, 'account', to, {
      type: 'CreditTransfer',
      payload: { transferId: 'tr-forged', amount: 1_000, from: 'x', at: 1 },
      saga: 'tr-forged',
    });
    expect(posing).toMatchObject({ status: 403, body: { error: 'InternalCommand' } });
    expect(await stateOf(b, to)).toMatchObject({ balance: 0 });
  });

  it("refuses a Try sent before the hold's expiry and delivered after it, by the source home's clock", async () => {
    // The coordinator built the step 1.5 s ago, 1 s before the expiry; a slow fence or a late delivery
    // brings it to the source only now. Placed, the hold would outlive its expiry from the start (until a
    // sweep cancels the transfer): the chaos runner saw such holds placed seconds late on a loaded machine.
    const { 'eu-west-1': b } = cluster.cells;
    const from = await account(b, 30);
    const late = (transferId: string) => {
      const now = Date.now();
      return executeCommand(commandsOf['eu-west-1'], {
        aggregateType: 'account',
        aggregateId: from,
        command: {
          type: 'PlaceHold',
          payload: { transferId, amount: 5, expiresAt: now - 500, at: now - 1_500 },
        },
        causationId: `late-try-${transferId}`,
      });
    };
    await expect(late('tr-late-1')).rejects.toThrow(TransferClosed);
    const refused = await stateOf(b, from);
    expect({ balance: refused.balance, held: refused.held ?? 0 }).toEqual({ balance: 30, held: 0 });
    // The broken build: judged by the sender's clock, the late Try places the hold.
    enableBugs(['hold-expiry-by-sender-clock']);
    await late('tr-late-2');
    expect(await stateOf(b, from)).toMatchObject({ balance: 30, held: 5 });
    const types = (await b.events.loadStream('account', from)).map((e) => e.type);
    expect(types.filter((t) => t === 'HoldPlaced')).toHaveLength(1);
  });

  it('the sweep of the home region resumes a saga whose execution never started, and cancels it after the expiry', async () => {
    const { 'eu-west-1': b } = cluster.cells;
    const from = await account(b, 50);
    const to = await account(cluster.cells['us-east-1'], 0);
    starters['eu-west-1'].paused = true;
    const begun = await post(b, { from, to, amount: 20, idempotencyKey: 'int-sweep' });
    starters['eu-west-1'].paused = false;
    expect(begun).toMatchObject({ status: 202, body: { status: 'trying' } });
    const transferId = String(begun.body.transferId);
    // Its coordinator placed the hold, then was lost with its region.
    await handlers['eu-west-1']({ task: 'Try', input: { saga: 'transfer', sagaId: transferId } });
    expect(await stateOf(b, from)).toMatchObject({ balance: 50, held: 20 });

    const due = new DynamoDueSagaSource({ client: b.tables.doc, tableName: b.tables.tables.state });
    const startedAt = Number(begun.body.startedAt);
    expect(await due.overdue('transfer', startedAt + RESUME_AFTER_MS - 1, 10)).toEqual([]);
    const listed = await due.overdue('transfer', startedAt + HOLD_MS, 10);
    expect(listed.map((d) => d.sagaId)).toContain(transferId);

    const sweepAt = (cell: Cell, now: number) =>
      sweepSagas({
        region: cell.name,
        partitions: 256,
        sagas: sagaCatalog(exampleSagas),
        due: new DynamoDueSagaSource({ client: cell.tables.doc, tableName: cell.tables.tables.state }),
        homes: cell.ownership,
        starter: starters[cell.name],
        resumeEveryMs: RESUME_AFTER_MS,
        now: () => now,
      });
    // Another region's index lists it once replicated, but only the home resumes it.
    await cluster.replicate('eu-west-1', 'us-east-1', 'transfer', transferId);
    const elsewhere = await sweepAt(cluster.cells['us-east-1'], startedAt + HOLD_MS);
    expect(elsewhere.resumed).not.toContain(transferId);
    // The resumed execution decides by its coordinator's clock: past the expiry, it can only cancel.
    ahead['eu-west-1'] = startedAt + HOLD_MS - Date.now();
    try {
      const report = await sweepAt(b, startedAt + HOLD_MS);
      expect(report.resumed).toContain(transferId);
      await Promise.all(starters['eu-west-1'].runs);
    } finally {
      ahead['eu-west-1'] = 0;
    }
    const read = await b.call({ method: 'GET', path: `/v1/transfers/${transferId}` });
    expect(read.body).toMatchObject({ status: 'cancelled', reason: 'expired' });
    expect(await stateOf(b, from)).toMatchObject({ balance: 50, held: 0 });
    expect(await due.overdue('transfer', Number.MAX_SAFE_INTEGER, 100)).not.toContainEqual(
      expect.objectContaining({ sagaId: transferId }),
    );
  });
});
