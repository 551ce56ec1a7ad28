import { describe, expect, it } from 'vitest';
import { runChaos } from '../../lib/sandbox/chaos/index.ts';
import {
  byKey,
  checkCoreLogs,
  checkCoreTier,
  checkFencing,
  HistoryRecorder,
  pairOperations,
  readSnapshot,
} from '../../lib/verify/index.ts';
import { type Cell, makeCell } from '../integration/replication/cells.ts';

const figure = (report: Awaited<ReturnType<typeof runChaos>>, name: string) =>
  report.figures.find((f) => f.figure.startsWith(name))?.value;

describe('chaos run (short, fixed seed)', () => {
  it('injects faults while clients write and read, decides every account and finds no anomaly (env dev)', async () => {
    const report = await runChaos({ seconds: 25, seed: 1 });
    if (!report.passed) console.error(JSON.stringify(report.anomalies.slice(0, 10), null, 2));
    // Every AWS call of the run was authorized against the synthesized roles and resource policies (checked
    // first: a denied call would show as an anomaly too, and the denial names its cause).
    expect(report.iam?.denials).toEqual([]);
    expect(report.iam?.checked).toBeGreaterThan(1_000);
    expect(report).toMatchObject({ env: 'dev', ackMode: 'local', bugs: [] });
    expect(report.faults.length).toBeGreaterThan(2);
    expect(report.operations.ok).toBeGreaterThan(20);
    expect(figure(report, 'reads checked against the logs')).toBeGreaterThan(0);
    expect(figure(report, 'accounts undecided')).toBe(0);
    expect(figure(report, 'transfers')).toBeGreaterThan(0);
    expect(report.anomalies).toEqual([]);
  }, 600_000);

  it('runs the production topology (quorum ack) with --env prod and finds no anomaly', async () => {
    const report = await runChaos({ seconds: 20, seed: 4, env: 'prod' });
    if (!report.passed) console.error(JSON.stringify(report.anomalies.slice(0, 10), null, 2));
    // Every AWS call of the run was authorized against the synthesized roles and resource policies (checked
    // first: a denied call would show as an anomaly too, and the denial names its cause).
    expect(report.iam?.denials).toEqual([]);
    expect(report.iam?.checked).toBeGreaterThan(1_000);
    expect(report).toMatchObject({ env: 'prod', ackMode: 'quorum' });
    expect(report.operations.ok).toBeGreaterThan(20);
    expect(figure(report, 'accounts undecided')).toBe(0);
    expect(figure(report, 'transfers')).toBeGreaterThan(0);
    expect(report.anomalies).toEqual([]);
  }, 600_000);
});

describe('the chaos run catches a build without single writers', () => {
  it('reports two writers at one epoch when every region takes every core write unfenced', async () => {
    const report = await runChaos({ seconds: 8, seed: 3, disableFencing: true });
    expect(report.fencingDisabled).toBe(true);
    expect(report.passed).toBe(false);
    const kinds = new Set(report.anomalies.map((a) => `${a.checker}/${a.kind}`));
    expect(kinds).toContain('fencing/double-epoch');
  }, 600_000);
});

// A deliberately broken build: two regions accept core writes for one account with no fence (both at
// epoch 0), on real stores with the real applier. The checkers must report it.
describe('the checkers catch a build without fencing (real stores)', () => {
  it('reports two writers at one epoch, a forked log, lost acknowledged writes and a non-linearizable history', async () => {
    const cells: Cell[] = [];
    const east = await makeCell('us-east-1', { peers: () => cells });
    const west = await makeCell('eu-west-1', { peers: () => cells });
    cells.push(east, west);
    const id = `nofence-${Date.now().toString(36)}`;
    const history = new HistoryRecorder();
    const run = async (cell: Cell, process: string, type: string, payload: Record<string, unknown>) => {
      const f = type === 'OpenAccount' ? 'open' : 'deposit';
      const value = typeof payload.amount === 'number' ? payload.amount : null;
      const opId = `${process}:${type}`;
      history.record({ process, type: 'invoke', f, key: `account/${id}`, value, opId });
      const result = await cell.execute({
        aggregateType: 'account',
        aggregateId: id,
        command: { type, payload },
        causationId: opId,
      });
      const balance = (JSON.parse(result.record.state) as { balance: number }).balance;
      history.record({
        process,
        type: 'ok',
        f,
        key: `account/${id}`,
        value: f === 'open' ? null : balance,
        eventIds: result.events.map((e) => e.eventId),
      });
      return result.events;
    };
    const opened = await run(east, 'c0', 'OpenAccount', { owner: 'o', currency: 'EUR' });
    for (const e of opened) await west.apply(structuredClone(e));
    // Both regions take a deposit at seq 2 before seeing each other's: nothing fences the second one.
    const a = await run(east, 'c1', 'Deposit', { amount: 10 });
    const b = await run(west, 'c2', 'Deposit', { amount: 20 });
    for (const e of a) await west.apply(structuredClone(e));
    for (const e of b) await east.apply(structuredClone(e));
    const regions = await Promise.all(
      cells.map((c) => readSnapshot({ region: c.region, doc: c.db.doc, tables: c.db.tables })),
    );
    const kinds = [
      ...checkFencing(regions).anomalies,
      ...checkCoreLogs(regions).anomalies,
      ...checkCoreTier({ operations: byKey(pairOperations(history.events())), regions }).anomalies,
    ].map((x) => x.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['double-epoch', 'forked-log', 'lost-write', 'not-linearizable']),
    );
    // Every stored event is the effect of one operation: nothing is reported as a phantom.
    expect(kinds).not.toContain('phantom-write');
  });
});
