import { describe, expect, it } from 'vitest';
import type { AnySaga } from '../../../lib/sagas/index.ts';
import { sagaHistory } from '../../../lib/sagas/index.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { makeCell, uniqueId } from '../replication/cells.ts';
import { archiveAt, archiveDir, deposit, open, snapshotNow, topology } from './review-retention-fixtures.ts';

/**
 * Guarantee attacked: "nothing refused that should be served without a clear error" (here: nothing served
 * wrong). `GET /v1/<saga>/{id}` answers the saga's state and its history (`sagaHistory`: the saga's core log
 * read with `loadStream`, each event's `payload` and `payload.at`). A saga's aggregate is core and may take
 * `lifecycle.retentionDays`; once its old events are archived, `fromEventItem` gives each stub an empty
 * payload, and the history answers `payload: {}`, `at: null` for them, as if the events had carried no
 * data, with nothing saying they were archived. (`sagaHistory` reads any core log by the saga's name; the
 * account log stands in for a transfer's here.)
 */
describe("review-retention: the saga API's history over an archived log", () => {
  it('never answers an archived event with an empty payload as if it were the event (it is read from the archive, or marked archived)', async () => {
    const h = await makeCell('us-east-1', { topology });
    const id = uniqueId('rr-hist');
    const run = (command: object) =>
      h.execute({ aggregateType: 'account', aggregateId: id, command } as never);
    await run(open);
    for (let i = 1; i <= 4; i++) await run(deposit(i));
    await snapshotNow(h, id);
    expect((await archiveAt(h, await archiveDir('hist'), [], id)).archived).toBe(4);
    const log = await h.events.loadStream('account', id);
    expect(log.filter(isArchivedStub)).toHaveLength(4);

    const history = await sagaHistory(h.events, { name: 'account' } as unknown as AnySaga, id);
    const silent = history.filter(
      (entry) => Object.keys(entry.payload).length === 0 && !('archived' in entry),
    );
    expect(
      silent.map((e) => e.seq),
      'history entries answered with an empty payload and no sign they were archived',
    ).toEqual([]);
  });
});
