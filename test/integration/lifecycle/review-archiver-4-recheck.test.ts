import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  type ArchiveStore,
  archiveAggregate,
  type HomeOf,
  localHomeOf,
} from '../../../lib/lifecycle/index.ts';
import { DynamoControlReplica } from '../../../lib/ownership/dynamodb-replica.ts';
import { type PartitionValue, partitionKey } from '../../../lib/ownership/partition-map.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { type Cell, uniqueId } from '../replication/cells.ts';
import {
  archiveDir,
  deposit,
  LATER,
  open,
  peerOf,
  snapshotNow,
  snapshotsOf,
  threeRegions,
  write,
} from './review-retention-fixtures.ts';

/**
 * Review 4 of the retention/archive work (on main). Fix attacked: review 3's LOW finding, "the archiver re-reads
 * this region's copy of the partition map right before the stub writes". The re-read is `HomeOf.recheck`, an
 * OPTIONAL member; `archiveAggregate` calls `checkHome(..., deps.topology?.homeOf?.recheck)` and `checkHome`
 * returns without any check when that function is undefined. So a `topology.homeOf` that is a plain function
 * (the type allows it, the archiver-gate tests pass one) gets no second look at all: the fix is silently off,
 * though calling the plain function again would read the map again.
 *
 * Interleaving: H is p's home; H's pass for account A checks the home (H), reads the peers, writes A's data
 * object; a Switchover fences p in H's own copy and moves it to C right then (here: on the archive's first
 * put); H goes on to its stub writes. With `localHomeOf` (has `recheck`) the stubs are refused (control);
 * with a plain `homeOf` that reads H's own copy on every call, the stubs land although that very function
 * now answers C.
 *
 * The second test checks the window the README leaves open ("a fence landing during one aggregate's own stub
 * writes can still see those few conditional stubs land; every one of them is an event every peer holds
 * whole"): the move lands after the first stub; every stubbed event is then whole in both peers' logs.
 */

async function entry(cell: Cell, p: number, epoch: number, value: Record<string, unknown>) {
  const replica = new DynamoControlReplica({
    region: cell.region,
    client: cell.db.doc,
    tableName: cell.db.tables.control,
  });
  await replica.write(partitionKey(p), { epoch, ballot: `b${epoch}`, value });
}

/** A Switchover of p from H to C as H's own copy sees it: fenced, then homed at C. */
async function moveToC(h: Cell, c: Cell, p: number) {
  await entry(h, p, 3, { home: h.region, state: 'fenced', activeFrom: 0, reason: 'rehome' });
  await entry(h, p, 4, { home: c.region, state: 'active', activeFrom: 0 });
}

/** An archive store that runs `hook` once, right after its first put (the first data object). */
function hooked(inner: ArchiveStore, hook: () => Promise<void>): ArchiveStore {
  let fired = false;
  return {
    async put(key, body) {
      await inner.put(key, body);
      if (!fired) {
        fired = true;
        await hook();
      }
    },
    get: (key) => inner.get(key),
    list: (prefix) => inner.list(prefix),
  };
}

/** A plain home function (no `recheck`): H's own copy of the map, read strongly on EVERY call. */
function uncachedHomeOf(h: Cell): HomeOf {
  const replica = new DynamoControlReplica({
    region: h.region,
    client: h.db.doc,
    tableName: h.db.tables.control,
  });
  return async (partition) => {
    const record = await replica.read<PartitionValue>(partitionKey(partition));
    return record?.value.state === 'active' ? record.value.home : undefined;
  };
}

async function setUp(name: string) {
  const [h, c, r] = await threeRegions();
  const id = uniqueId(name);
  await write(h!, [c!, r!], id, open);
  for (let i = 1; i <= 4; i++) await write(h!, [c!, r!], id, deposit(i));
  await snapshotNow(h!, id);
  const p = (await h!.events.loadStream('account', id))[0]!.partition;
  await entry(h!, p, 2, { home: h!.region, state: 'active', activeFrom: 0 });
  return { h: h!, c: c!, r: r!, id, p, archive: await archiveDir(name) };
}

function archiveWith(
  s: Awaited<ReturnType<typeof setUp>>,
  archive: ArchiveStore,
  homeOf: HomeOf,
  client: DynamoDBDocumentClient = s.h.db.doc,
) {
  return archiveAggregate(
    {
      events: s.h.events,
      snapshots: snapshotsOf(s.h),
      archive,
      client,
      eventsTable: s.h.db.tables.events,
      peers: [s.c, s.r].map(peerOf),
      topology: { region: s.h.region, regions: [s.h.region, s.c.region, s.r.region], homeOf },
    },
    account,
    { aggregateId: s.id, retentionDays: 1, now: LATER() },
  );
}

const outcomeOf = (run: Promise<{ archived: number }>) =>
  run.then(
    (done) => `archived ${done.archived}`,
    (error: Error) => error.name,
  );

describe('review-archiver-4: the re-read before the stubs (HomeOf.recheck)', () => {
  it('control: with localHomeOf, a move landing after the data object leaves the events whole', async () => {
    const s = await setUp('ra4-recheck-local');
    const homeOf = localHomeOf({
      region: s.h.region,
      client: s.h.db.doc,
      controlTable: s.h.db.tables.control,
    });
    const outcome = await outcomeOf(
      archiveWith(
        s,
        hooked(s.archive, () => moveToC(s.h, s.c, s.p)),
        homeOf,
      ),
    );
    const stubs = (await s.h.events.loadStream('account', s.id)).filter(isArchivedStub).length;
    expect({ outcome, stubs }).toEqual({ outcome: 'ArchiverNotHomeError', stubs: 0 });
  });

  const plainScenario = async (name: string) => {
    const s = await setUp(name);
    const homeOf = uncachedHomeOf(s.h);
    const outcome = await outcomeOf(
      archiveWith(
        s,
        hooked(s.archive, () => moveToC(s.h, s.c, s.p)),
        homeOf,
      ),
    );
    const stubs = (await s.h.events.loadStream('account', s.id)).filter(isArchivedStub).length;
    // The same function, asked now, says the partition is homed at C.
    expect(await homeOf(s.p)).toBe(s.c.region);
    expect({ outcome, stubs }).toEqual({ outcome: 'ArchiverNotHomeError', stubs: 0 });
  };

  it('LOW: a homeOf without `recheck` gets no re-read at all: the old home stubs after the move though homeOf now answers C', () =>
    plainScenario('ra4-recheck-plain'));

  it('under archiver-no-recheck-plain-home (only recheck re-reads) the old home stubs after the move', async () => {
    await expect(
      withBug('archiver-no-recheck-plain-home', () => plainScenario('ra4-recheck-plain-bug')),
    ).rejects.toThrow(/deeply equal/);
  });

  it('safe: a move landing during the stub writes lets the remaining stubs land, each of an event both peers hold whole', async () => {
    const s = await setUp('ra4-recheck-window');
    const homeOf = localHomeOf({
      region: s.h.region,
      client: s.h.db.doc,
      controlTable: s.h.db.tables.control,
    });
    // The events table's client, with the move landing right after the first stub write (UpdateCommand).
    let moved = false;
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        const result = await s.h.db.doc.send(command as never);
        if (!moved && command.constructor.name === 'UpdateCommand') {
          moved = true;
          await moveToC(s.h, s.c, s.p);
        }
        return result;
      },
    } as unknown as DynamoDBDocumentClient;
    const run = await archiveWith(s, s.archive, homeOf, client);
    expect(moved).toBe(true);
    expect(await homeOf.recheck!(s.p)).toBe(s.c.region);
    const log = await s.h.events.loadStream('account', s.id);
    const stubbed = log.filter(isArchivedStub);
    expect(stubbed).toHaveLength(run.archived);
    expect(stubbed.length).toBeGreaterThan(1);
    for (const peer of [s.c, s.r]) {
      const theirs = new Map((await peer.events.loadStream('account', s.id)).map((e) => [e.seq, e]));
      for (const stub of stubbed) {
        const held = theirs.get(stub.seq);
        expect(held?.eventId).toBe(stub.eventId);
        expect(isArchivedStub(held!)).toBe(false);
      }
    }
  });
});
