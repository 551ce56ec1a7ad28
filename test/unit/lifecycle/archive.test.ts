import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveCorruptError,
  archivableEvents,
  archiveObjects,
  decodeArchive,
  LocalDirectoryArchive,
  mergeHistory,
  pastRetention,
  retentionHorizon,
} from '../../../lib/lifecycle/index.ts';
import { canonicalJson } from '../../../lib/model/canonical-json.ts';
import { accountLog } from '../../support/core-history.ts';

const DAY = 86_400_000;
const start = Date.UTC(2026, 0, 1, 23, 0, 0);

describe('archivable events', () => {
  // One event an hour from 2026-01-01 23:00 UTC.
  const log = accountLog(
    Array.from({ length: 47 }, () => ({ type: 'Deposited' as const, amount: 3 })),
    { startWall: start },
  ).map((event, i) => ({
    ...event,
    hlc: event.hlc.replace(/^[0-9a-f]{12}/, (start + i * 3_600_000).toString(16).padStart(12, '0')),
  }));

  it('takes the prefix logged before the horizon and below the snapshot, never its last event', () => {
    expect(archivableEvents(log, { seq: 30 }, start + 10 * DAY).map((e) => e.seq)).toEqual(
      Array.from({ length: 29 }, (_, i) => i + 1),
    );
    expect(archivableEvents(log, { seq: 48 }, start + 1)).toEqual([log[0]]);
    expect(archivableEvents(log, { seq: 1 }, start + 10 * DAY)).toEqual([]);
  });

  it('sets the horizon on whole UTC days, the same in every region all day long', () => {
    const day = Date.UTC(2026, 5, 10);
    expect(retentionHorizon(day + 1, 30)).toBe(day - 30 * DAY);
    expect(retentionHorizon(day + DAY - 1, 30)).toBe(day - 30 * DAY);
    expect(retentionHorizon(day + DAY, 30)).toBe(day - 29 * DAY);
  });

  it("tells which events are past their type's retention (types without one never are)", () => {
    const topology = {
      aggregates: [
        {
          type: 'account',
          tier: 'core' as const,
          conflict: 'lww' as const,
          lifecycle: { snapshotEvery: 10, retentionDays: 1 },
        },
        { type: 'transfer', tier: 'core' as const, conflict: 'lww' as const },
      ],
    };
    const past = pastRetention(topology, () => start + 2 * DAY);
    // Horizon: 2026-01-02 00:00 UTC. log[0] is 2026-01-01 23:00, log[1] 2026-01-02 00:00.
    expect(past?.('account', log[0]!.hlc)).toBe(true);
    expect(past?.('account', log[1]!.hlc)).toBe(false);
    expect(past?.('transfer', log[0]!.hlc)).toBe(false);
    expect(pastRetention({ aggregates: [topology.aggregates[1]!] }, () => start)).toBeUndefined();
  });

  it('splits a run into one object per UTC day, keyed by type, date and aggregate', () => {
    const objects = archiveObjects(log.slice(0, 30));
    expect(objects.map((o) => o.key)).toEqual([
      'account/2026/01/01/acc-1/000000000001-000000000001.jsonl',
      'account/2026/01/02/acc-1/000000000002-000000000025.jsonl',
      'account/2026/01/03/acc-1/000000000026-000000000030.jsonl',
    ]);
    expect(objects.flatMap((o) => decodeArchive(o.key, o.body))).toEqual(log.slice(0, 30));
  });
});

describe('archive objects', () => {
  it('decode to the events they encode, byte for byte, whatever their payloads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 ** 9 }), { minLength: 1, maxLength: 30 }),
        (amounts) => {
          const log = accountLog(amounts.map((amount) => ({ type: 'Deposited' as const, amount })));
          const decoded = archiveObjects(log).flatMap((o) => decodeArchive(o.key, o.body));
          expect(decoded.map((e) => canonicalJson(e))).toEqual(log.map((e) => canonicalJson(e)));
        },
      ),
    );
  });

  it('name the line that is not an envelope', () => {
    const [object] = archiveObjects(accountLog([]));
    expect(() => decodeArchive(object!.key, `${object!.body}{"eventId":"x"}\n`)).toThrow(
      /line 2 is not an event envelope/,
    );
    expect(() => decodeArchive('k', 'not json\n')).toThrow(ArchiveCorruptError);
  });

  it('merge with the hot log once each, in seq order, and refuse two events at one seq', () => {
    const log = accountLog([
      { type: 'Deposited', amount: 1 },
      { type: 'Deposited', amount: 2 },
    ]);
    expect(mergeHistory([log[1]!, log[0]!], [log[1]!, log[2]!])).toEqual(log);
    const other = { ...log[1]!, eventId: '01J00000000000000000000000' };
    expect(() => mergeHistory([other], log)).toThrow(/seq 2 is/);
  });
});

describe('LocalDirectoryArchive', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'archive-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('stores, lists by prefix and reads back objects; unknown keys read as undefined', async () => {
    const archive = new LocalDirectoryArchive(root);
    await archive.put('account/dt=2026-01-01/a/1-2.jsonl', 'one\n');
    await archive.put('account/dt=2026-01-02/b/3-4.jsonl', 'two\n');
    await archive.put('profile/dt=2026-01-01/c/1-1.jsonl', 'three\n');
    await writeFile(join(root, 'account', 'dt=2026-01-01', 'a', 'half.jsonl.1.tmp'), 'x');
    expect(await archive.list('account/')).toEqual([
      'account/dt=2026-01-01/a/1-2.jsonl',
      'account/dt=2026-01-02/b/3-4.jsonl',
    ]);
    expect(await archive.get('account/dt=2026-01-02/b/3-4.jsonl')).toBe('two\n');
    expect(await archive.get('account/none.jsonl')).toBeUndefined();
    expect(await archive.list('nothing/')).toEqual([]);
  });

  it('refuses a key that would leave its directory', async () => {
    const archive = new LocalDirectoryArchive(root);
    await expect(archive.put('../escape.jsonl', 'x')).rejects.toThrow(/not a relative path/);
    await expect(archive.get('/etc/passwd')).rejects.toThrow(/not a relative path/);
  });
});
