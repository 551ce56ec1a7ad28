import { describe, expect, it } from 'vitest';
import { account, exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { toHttpError } from '../../../lib/api/http-error.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { type CommandDeps, executeCommand } from '../../../lib/commands/index.ts';
import type { Topology } from '../../../lib/config/index.ts';
import { archiveAggregate, SnapshotStore, snapshotWriter } from '../../../lib/lifecycle/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { EventStore, isArchivedStub, StateStore } from '../../../lib/store/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { archiveDir, LATER } from './review-retention-fixtures.ts';

/**
 * Guarantee attacked: "nothing refused that should be served without a clear error" (and finding 6 of the
 * first review: a retry of a landed write is answered with its events and state).
 *
 * The API's command deps are wired as functions/shared/region.ts wires them: the snapshots table and the
 * snapshot writer, no archive (README: "wiring of an archive into ... the command deps: not built"). With
 * snapshotEvery 10 and 55 events, the kept snapshots are 50, 40, 30; the archiver moves seq 1-49 (below its
 * covering snapshot 50). A client then retries its write at seq 45 (its key is still among the row's 16
 * recent causes, so the retry is answered from the log, `answerLanded`): no kept snapshot lies before the
 * write and at or above the stubs (40 and 30 are below them, 50 after the write), there is no archive, the
 * fold meets a stub and throws HistoryIncompleteError, which the API does not map: an opaque
 * `500 InternalError` ("internal error"), the same on every retry, for a write that was acknowledged.
 */
describe('review-retention: a retry of an acknowledged write whose events were archived, with the API wiring (snapshots, no archive)', () => {
  it('is answered with the same events and state, or refused with a clear, mapped error (never an opaque 500)', async () => {
    const r = await freshRegion('eu-west-1', 'rrl');
    const base = bank.topology('dev');
    const topology: Topology = {
      ...base,
      aggregates: base.aggregates.map((a) =>
        a.type === 'account' ? { ...a, lifecycle: { snapshotEvery: 10, retentionDays: 1 } } : a,
      ),
    };
    const events = new EventStore({
      client: r.doc,
      tableName: r.tables.events,
      coreMarkerTableName: r.tables.replication,
    });
    const snapshots = new SnapshotStore({ client: r.doc, tableName: r.tables.snapshots });
    const writer = snapshotWriter({ topology, store: snapshots })!;
    const deps: CommandDeps = {
      registry: createRegistry(exampleAggregates, topology),
      events,
      states: new StateStore({ client: r.doc, tableName: r.tables.state }),
      clock: new HybridLogicalClock({ region: r.region }),
      region: r.region,
      partitions: topology.partitions,
      afterCoreAppend: writer,
      snapshots,
    };
    const id = 'landed-1';
    const run = (type: string, payload: Record<string, unknown>, key?: string) =>
      executeCommand(deps, {
        aggregateType: 'account',
        aggregateId: id,
        command: { type, payload },
        ...(key ? { idempotencyKey: key, causationId: key } : {}),
      });
    await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
    for (let i = 2; i <= 44; i++) await run('Deposit', { amount: 1 });
    const retry = { type: 'Deposit', payload: { amount: 40 } };
    const first = await run(retry.type, retry.payload, 'retry-45');
    expect(first.events[0]!.seq).toBe(45);
    for (let i = 46; i <= 55; i++) await run('Deposit', { amount: 1 });

    const archive = await archiveDir('landed');
    const moved = await archiveAggregate(
      {
        events,
        snapshots,
        archive,
        client: r.doc,
        eventsTable: r.tables.events,
        peers: [],
        topology: { region: r.region, regions: [r.region] },
      },
      account,
      { aggregateId: id, retentionDays: 1, now: LATER() },
    );
    expect(moved).toMatchObject({ archived: 49 });
    expect((await events.loadStream('account', id)).filter(isArchivedStub)).toHaveLength(49);

    const outcome = await run(retry.type, retry.payload, 'retry-45').then(
      (answered) => ({ events: answered.events.map((e) => e.eventId), state: answered.state }),
      (error: unknown) => {
        const http = toHttpError(error);
        return { status: http.statusCode, code: http.code };
      },
    );
    const clearRefusal = 'status' in outcome && outcome.code !== 'InternalError' && outcome.status !== 500;
    const answered =
      'events' in outcome &&
      JSON.stringify(outcome) ===
        JSON.stringify({ events: first.events.map((e) => e.eventId), state: first.state });
    expect(answered || clearRefusal, `retry outcome: ${JSON.stringify(outcome)}`).toBe(true);
  });
});
