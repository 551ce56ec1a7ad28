import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  EntryChangedError,
  EpochConflictError,
  fenceEntry,
  fencePartition,
  InMemoryControlReplica,
  moveHomeConfirmed,
  type PartitionChange,
  type PartitionEntry,
  PartitionMap,
  QuorumRegister,
  rehomePartition,
  takeOverFence,
} from '../../../lib/ownership/index.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
const [A, B, C] = REGIONS;
const P = 7;

/** A partition map over three in-memory replicas; `onRead` runs once, after the first read returned. */
class RacedMap extends PartitionMap {
  onRead: (() => Promise<void>) | undefined;

  override async read(partition: number): Promise<PartitionEntry | null> {
    const entry = await super.read(partition);
    const race = this.onRead;
    this.onRead = undefined;
    if (race) await race();
    return entry;
  }
}

/** A partition map whose next `lost` unfences (changes to active) lose their compare-and-set, unwritten. */
class LosingUnfenceMap extends PartitionMap {
  lost = 0;

  override async change(partition: number, current: PartitionEntry | null, change: PartitionChange) {
    if (change.state === 'active' && this.lost > 0) {
      this.lost--;
      throw new EpochConflictError(`partition#${partition}`, current?.epoch ?? 0, 1, 2);
    }
    return super.change(partition, current, change);
  }
}

function newMap(): RacedMap {
  const register = new QuorumRegister({ replicas: REGIONS.map((r) => new InMemoryControlReplica(r)) });
  return new RacedMap({ register, leaseMs: 1_000, skewMarginMs: 100 });
}

/** Another execution `run` moves the partition from its home to `to`, active at once (a whole switchover). */
async function switchover(map: PartitionMap, to: string, run: string): Promise<PartitionEntry> {
  const read = (await map.read(P))!;
  await fenceEntry(map, read, run);
  return moveHomeConfirmed(map, P, to, run);
}

describe('a run fences only the entry it read', () => {
  afterEach(() => disableAllBugs());

  it('fences the entry read, stamped with its run, and is idempotent', async () => {
    const map = newMap();
    const read = await map.claim(P, A);
    const fenced = await fenceEntry(map, read, 'r1');
    expect(fenced).toMatchObject({ home: A, state: 'fenced', run: 'r1', epoch: read.epoch + 1 });
    // A retry with the same read finds its own fence (a lost answer), one with the fenced entry as well.
    expect(await fenceEntry(map, read, 'r1')).toEqual(fenced);
    expect(await fenceEntry(map, fenced, 'r1')).toEqual(fenced);
  });

  it('leaves alone an entry another execution moved on since the read (another home, active)', async () => {
    const map = newMap();
    await map.claim(P, A);
    const r1 = await switchover(map, B, 'r1'); // "B, active, r1": what r1's Rollback reads
    const r2 = await switchover(map, C, 'r2'); // meanwhile r2 moves B -> C
    await expect(fenceEntry(map, r1, 'r1')).rejects.toBeInstanceOf(EntryChangedError);
    expect(await map.read(P)).toEqual(r2);
  });

  it('with rollback-fences-any-active: fences the newer home C with the stale run', async () => {
    const map = newMap();
    await map.claim(P, A);
    const r1 = await switchover(map, B, 'r1');
    await switchover(map, C, 'r2');
    const fenced = await withBug('rollback-fences-any-active', () => fenceEntry(map, r1, 'r1'));
    expect(fenced).toMatchObject({ home: C, state: 'fenced', run: 'r1' });
  });

  it('no longer lets a run fence an active entry someone else wrote without naming the entry read', async () => {
    const map = newMap();
    await map.claim(P, A);
    const r2 = await switchover(map, C, 'r2');
    await expect(fencePartition(map, P, 'rehome', 'r1')).rejects.toBeInstanceOf(EntryChangedError);
    expect(await map.read(P)).toEqual(r2);
    // Without a run (an operator's fence) any entry is fenced, as before.
    expect(await fencePartition(map, P, 'operator')).toMatchObject({ home: C, state: 'fenced' });
  });
});

describe("an operator's takeover of a dead execution's fence", () => {
  afterEach(() => disableAllBugs());

  /** r0 fenced A, and the takeover read that fence; r0 (not dead after all) then moved the home to B. */
  async function movedSinceRead(map: PartitionMap) {
    const read = await fenceEntry(map, await map.claim(P, A), 'r0');
    const moved = await map.change(P, read, { home: B, run: 'r0' });
    return { read, moved };
  }

  it("re-stamps the fence it read (same home, the new run's stamp) and is idempotent", async () => {
    const map = newMap();
    const read = await fenceEntry(map, await map.claim(P, A), 'r0');
    const taken = await takeOverFence(map, read, 'r1');
    expect(taken).toMatchObject({ home: A, state: 'fenced', run: 'r1', epoch: read.epoch + 1 });
    expect(await takeOverFence(map, read, 'r1')).toEqual(taken);
  });

  it('refuses a fence the dead run moved on since the read (the home it would record is gone)', async () => {
    const map = newMap();
    const { read, moved } = await movedSinceRead(map);
    await expect(takeOverFence(map, read, 'r1')).rejects.toBeInstanceOf(EntryChangedError);
    expect(await map.read(P)).toEqual(moved);
  });

  it('with rollback-fences-any-active: takes over whatever fence the run holds now', async () => {
    const map = newMap();
    const { read } = await movedSinceRead(map);
    const taken = await withBug('rollback-fences-any-active', () => takeOverFence(map, read, 'r1'));
    expect(taken).toMatchObject({ home: B, state: 'fenced', run: 'r1' });
  });
});

describe('rehomePartition', () => {
  afterEach(() => disableAllBugs());

  const neverCaughtUp = async () => false;

  it('does not fence a newer home that took the partition between its read and its fence', async () => {
    const map = newMap();
    await map.claim(P, A);
    map.onRead = async () => void (await switchover(map, C, 'r2'));
    await expect(
      rehomePartition(map, { partition: P, to: B, catchUp: neverCaughtUp, timeoutMs: 0 }),
    ).rejects.toBeInstanceOf(EntryChangedError);
    expect(await map.read(P)).toMatchObject({ home: C, state: 'active', run: 'r2' });
  });

  it('with rollback-fences-any-active: fences it, taking A (the home read) for the source', async () => {
    const map = newMap();
    await map.claim(P, A);
    map.onRead = async () => void (await switchover(map, C, 'r2'));
    const error = await withBug('rollback-fences-any-active', () =>
      rehomePartition(map, { partition: P, to: B, catchUp: neverCaughtUp, timeoutMs: 0 }).catch(
        (e: unknown) => e,
      ),
    );
    // The drain "timed out" comparing A with B while C, fenced by this run, is the real home.
    expect(error).toMatchObject({ name: 'DrainTimeoutError', from: A });
  });

  const losingMap = (lost: number) => {
    const register = new QuorumRegister({ replicas: REGIONS.map((r) => new InMemoryControlReplica(r)) });
    const map = new LosingUnfenceMap({ register, leaseMs: 1_000, skewMarginMs: 100 });
    map.lost = lost;
    return map;
  };

  it('on a drain timeout, re-reads and unfences again after a lost compare-and-set of its own entry', async () => {
    const map = losingMap(2);
    await map.claim(P, A);
    await expect(
      rehomePartition(map, { partition: P, to: B, catchUp: neverCaughtUp, timeoutMs: 0 }),
    ).rejects.toMatchObject({ name: 'DrainTimeoutError' });
    expect(await map.read(P)).toMatchObject({ home: A, state: 'active' });
  });

  it('throws the conflict, not a drain timeout, when every unfence attempt loses', async () => {
    const map = losingMap(3);
    await map.claim(P, A);
    await expect(
      rehomePartition(map, { partition: P, to: B, catchUp: neverCaughtUp, timeoutMs: 0 }),
    ).rejects.toBeInstanceOf(EpochConflictError);
  });

  it('with rollback-conflict-left-alone: a lost unfence leaves the partition fenced by the run', async () => {
    const map = losingMap(1);
    await map.claim(P, A);
    await withBug('rollback-conflict-left-alone', () =>
      rehomePartition(map, { partition: P, to: B, catchUp: neverCaughtUp, timeoutMs: 0 }).catch(
        () => undefined,
      ),
    );
    expect(await map.read(P)).toMatchObject({ home: A, state: 'fenced' });
  });
});
