import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { ArchivedEventInFoldError } from '../../../lib/conflict/index.ts';
import { fullHistory } from '../../../lib/lifecycle/index.ts';
import { defineAggregate } from '../../../lib/model/index.ts';
import { applyMaterialized } from '../../../lib/replication/apply-materialized.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  open,
  snapshotNow,
  threeRegions,
  write,
} from './review-retention-fixtures.ts';

/**
 * Review 3 of i17-archiver, untested risk: a core type with `retentionDays` moved to important keeps the
 * archived stubs in its logs. An important applier re-materializes from the whole log; a stub's payload is
 * `{}` and used to fail the payload schema (PayloadValidationError, blaming the event). It must fail with
 * the named error that says what happened and what to do (`multiactive plan` refuses the move: test/unit/change).
 */
const importantAccount = defineAggregate({
  ...account,
  tier: 'important',
  conflict: { policy: 'lww' },
});

describe('a core type with archived stubs moved to important', () => {
  it('the important applier refuses to fold the stubs with ArchivedEventInFoldError; fullHistory still reads them', async () => {
    const [h, c, r] = await threeRegions();
    const archive = await archiveDir('tier-move');
    const id = uniqueId('tier-move');
    await write(h!, [c!, r!], id, open);
    for (let i = 1; i <= 4; i++) await write(h!, [c!, r!], id, deposit(i));
    await snapshotNow(h!, id);
    expect((await archiveAt(h!, archive, [c!, r!], id)).archived).toBe(4);
    const log = await h!.events.loadStream('account', id);
    expect(log.filter(isArchivedStub)).toHaveLength(4);

    // An important event that arrives late (HLC below the row's head): the row is re-materialized from the log.
    const late = sampleEnvelope({
      aggregateType: 'account',
      aggregateId: id,
      partition: log[0]!.partition,
      seq: 0,
      type: 'Deposited',
      payload: { amount: 7 },
      origin: c!.region,
      hlc: encodeHlc({ wall: 1_000, logical: 0, region: c!.region }),
    });
    const applied = applyMaterialized(
      { events: h!.events, states: h!.states, conflicts: h!.conflicts, now: () => new Date() },
      { aggregate: importantAccount, policy: 'lww', event: late },
    );
    await expect(applied).rejects.toThrow(ArchivedEventInFoldError);
    await expect(applied).rejects.toThrow(
      /archived stub .* keep the type core, or restore its archived events/,
    );

    // The way back the message names: the archive holds every stubbed event whole.
    const history = await fullHistory({ events: h!.events, archive }, 'account', id);
    expect(history.some(isArchivedStub)).toBe(false);
    expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
