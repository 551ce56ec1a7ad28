import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  type ControlReplica,
  fencePartition,
  InMemoryControlReplica,
  moveHomeConfirmed,
  PartitionMap,
  PartitionOwnership,
  QuorumRegister,
  type RegisterRecord,
} from '../../../lib/ownership/index.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
const PARTITION = 3;
const LEASE_MS = 1_000;
/** A write needs 700 ms of its lease left: a lease serves writes for its first 300 ms. */
const IN_FLIGHT = { appendTimeoutMs: 300, quorumCopyTimeoutMs: 400 };

/** A replica whose link can be cut (every call fails) and whose reads are counted. */
class Link implements ControlReplica {
  down = false;
  reads = 0;
  constructor(private readonly inner: InMemoryControlReplica) {}
  get region() {
    return this.inner.region;
  }
  async read<V>(key: string): Promise<RegisterRecord<V> | null> {
    this.reads++;
    if (this.down) throw new Error(`${this.region} unreachable`);
    return this.inner.read<V>(key);
  }
  async write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    if (this.down) throw new Error(`${this.region} unreachable`);
    return this.inner.write(key, record);
  }
}

/** Every region's ownership over one shared set of replicas, with a monotonic clock the test moves. */
function cluster() {
  const stores = REGIONS.map((r) => new InMemoryControlReplica(r));
  const clock = { mono: 0 };
  const ownershipOf = (region: string) => {
    const links = stores.map((s) => new Link(s));
    const register = new QuorumRegister({ replicas: links, callTimeoutMs: 0 });
    const map = new PartitionMap({ register, leaseMs: LEASE_MS, skewMarginMs: 0, now: () => 0 });
    const ownership = new PartitionOwnership({
      region,
      map,
      local: links[REGIONS.indexOf(region as (typeof REGIONS)[number])]!,
      controlTable: 'control',
      now: () => 0,
      monotonic: () => clock.mono,
      inFlight: IN_FLIGHT,
    });
    const cut = (down: boolean) => {
      for (const link of links) link.down = down;
    };
    return { ownership, map, links, cut, reads: () => links.reduce((n, l) => n + l.reads, 0) };
  };
  return { clock, ownershipOf };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('partition leases of a home', () => {
  it('renew in the background within the time a lease serves writes, so a steadily written partition never waits for a majority read', async () => {
    const { clock, ownershipOf } = cluster();
    const home = ownershipOf('us-east-1');
    await home.ownership.fenceCoreWrite(PARTITION); // claims, reads a majority at t = 0
    clock.mono = 200; // past half of the 300 ms the lease serves writes
    await home.ownership.fenceCoreWrite(PARTITION);
    await settle(); // the background renewal, read at t = 200
    clock.mono = 400; // the first lease no longer serves writes; the renewed one does
    home.cut(true);
    const fence = await home.ownership.fenceCoreWrite(PARTITION);
    expect(fence.epoch).toBeGreaterThan(0);
  });
});

describe('routing a core write to a home elsewhere', () => {
  it('forwards on the cached home whatever its age, and reads the partition again in the background', async () => {
    const { clock, ownershipOf } = cluster();
    await ownershipOf('eu-west-1').ownership.fenceCoreWrite(PARTITION); // eu-west-1 claims it
    const router = ownershipOf('us-east-1');
    expect(await router.ownership.entryFor(PARTITION, { claim: true })).toMatchObject({
      home: 'eu-west-1',
    });
    clock.mono = 5 * LEASE_MS;
    const before = router.reads();
    router.cut(true); // no majority answers: only the cached entry can route
    expect(await router.ownership.entryFor(PARTITION, { claim: true, cachedElsewhere: true })).toMatchObject({
      home: 'eu-west-1',
      state: 'active',
    });
    await settle();
    expect(router.reads()).toBeGreaterThan(before); // the background re-read was tried
    // Without the option (fencing, the sweep) an entry older than a lease is read again.
    await expect(router.ownership.entryFor(PARTITION, { claim: true })).rejects.toThrow();
  });

  it('reads a majority when the cached home is this region (its own writes are fenced by a fresh lease)', async () => {
    const { clock, ownershipOf } = cluster();
    const home = ownershipOf('us-east-1');
    await home.ownership.fenceCoreWrite(PARTITION);
    clock.mono = 5 * LEASE_MS;
    home.cut(true);
    await expect(
      home.ownership.entryFor(PARTITION, { claim: true, cachedElsewhere: true }),
    ).rejects.toThrow();
  });
});

describe('a core write a peer forwarded here, whose cached entry names another home', () => {
  afterEach(() => disableAllBugs());

  /** us-east-1 is home; eu-west-1 cached its fenced entry (a write forwarded during a fence); then moved. */
  async function movedAfterCaching() {
    const { clock, ownershipOf } = cluster();
    const oldHome = ownershipOf('us-east-1');
    await oldHome.ownership.fenceCoreWrite(PARTITION); // us-east-1 claims it
    await fencePartition(oldHome.map, PARTITION);
    const newHome = ownershipOf('eu-west-1');
    expect(await newHome.ownership.entryFor(PARTITION, { claim: true })).toMatchObject({
      home: 'us-east-1',
      state: 'fenced',
    });
    await moveHomeConfirmed(oldHome.map, PARTITION, 'eu-west-1');
    clock.mono = 50; // well inside the lease of the cached entry, and inside the 200 ms re-read interval
    return newHome;
  }

  it('is routed on a fresh read once its own copy of the entry changed: here, the new home', async () => {
    const newHome = await movedAfterCaching();
    expect(await newHome.ownership.entryFor(PARTITION, { claim: true, forwardedHere: true })).toMatchObject({
      home: 'eu-west-1',
      state: 'active',
    });
  });

  it('with forwarded-notHome-keeps-cache: is routed on the cached fenced entry (the caller answers 421)', async () => {
    const newHome = await movedAfterCaching();
    const entry = await withBug('forwarded-notHome-keeps-cache', () =>
      newHome.ownership.entryFor(PARTITION, { claim: true, forwardedHere: true }),
    );
    expect(entry).toMatchObject({ home: 'us-east-1', state: 'fenced' });
  });

  it('costs at most one majority read per 200 ms however many forwarded writes arrive', async () => {
    const { clock, ownershipOf } = cluster();
    await ownershipOf('us-east-1').ownership.fenceCoreWrite(PARTITION); // the home, and stays so
    const peer = ownershipOf('eu-west-1');
    await peer.ownership.entryFor(PARTITION, { claim: true }); // cached at t = 0
    const remote = peer.links[REGIONS.indexOf('ap-southeast-1')]!; // asked once by every majority read
    const burst = async (at: number) => {
      clock.mono = at;
      const before = remote.reads;
      for (let i = 0; i < 10; i++) {
        const entry = await peer.ownership.entryFor(PARTITION, { claim: true, forwardedHere: true });
        expect(entry).toMatchObject({ home: 'us-east-1', state: 'active' }); // still elsewhere: 421
      }
      return remote.reads - before;
    };
    // Inside 200 ms of the read, own copy unchanged: none; past it, one (the later calls use that read).
    expect([await burst(100), await burst(300), await burst(450), await burst(600)]).toEqual([0, 1, 0, 1]);
  });
});
