import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_ROUND_KEYS,
  type ControlReplica,
  EpochConflictError,
  InMemoryControlReplica,
  InvalidTransitionError,
  PartitionMap,
  QuorumRegister,
  QuorumUnavailableError,
  type RegisterRecord,
  type WriteOutcome,
} from '../../../lib/ownership/index.ts';
import { batchWriteRound } from '../../../lib/ownership/quorum-batch.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;

/** A replica that counts its calls and can be switched off (every call then fails). */
class CountingReplica implements ControlReplica {
  readonly inner: InMemoryControlReplica;
  down = false;
  calls = { read: 0, write: 0, readMany: 0, writeMany: 0 };

  constructor(readonly region: string) {
    this.inner = new InMemoryControlReplica(region);
  }

  async read<V>(key: string): Promise<RegisterRecord<V> | null> {
    this.calls.read++;
    if (this.down) throw new Error('down');
    return this.inner.read<V>(key);
  }

  async write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    this.calls.write++;
    if (this.down) throw new Error('down');
    return this.inner.write(key, record);
  }

  async readMany<V>(keys: readonly string[]) {
    this.calls.readMany++;
    if (this.down) throw new Error('down');
    return new Map(await Promise.all(keys.map(async (k) => [k, await this.inner.read<V>(k)] as const)));
  }

  async writeMany<V>(items: ReadonlyArray<{ key: string; record: RegisterRecord<V> }>) {
    this.calls.writeMany++;
    if (this.down) throw new Error('down');
    return Promise.all(items.map((i) => this.inner.write(i.key, i.record)));
  }

  scans = 0;
  async scan<V>(prefix: string) {
    this.scans++;
    if (this.down) throw new Error('down');
    return this.inner.scan<V>(prefix);
  }
}

function cluster() {
  const replicas = REGIONS.map((r) => new CountingReplica(r));
  let n = 0;
  const register = new QuorumRegister({
    replicas,
    newBallot: () => `b${String(++n).padStart(6, '0')}`,
  });
  const map = new PartitionMap({ register, leaseMs: 1_000, skewMarginMs: 200, now: () => 50_000 });
  return { replicas, register, map };
}

describe('batch quorum reads', () => {
  it('reads many partitions in one round trip per replica and agrees with single reads', async () => {
    const { replicas, map } = cluster();
    for (const p of [1, 2, 3]) await map.claim(p, REGIONS[p - 1]!);
    for (const r of replicas) r.calls = { read: 0, write: 0, readMany: 0, writeMany: 0 };

    const entries = await map.readMany([1, 2, 3, 4]);

    expect(replicas.map((r) => r.calls.readMany)).toEqual([1, 1, 1]);
    expect(replicas.map((r) => r.calls.read)).toEqual([0, 0, 0]);
    expect(entries.get(4)).toBeNull();
    for (const p of [1, 2, 3]) expect(entries.get(p)).toEqual(await map.read(p));
  });

  it('completes an unfinished proposal found by a batch read before returning it', async () => {
    const { replicas, map, register } = cluster();
    await map.claim(7, 'us-east-1');
    const committed = (await register.read<Record<string, unknown>>('PARTITION#7'))!;
    // A proposer stored epoch 2 on one replica only, then vanished.
    const unfinished = { epoch: 2, ballot: 'zz', value: { ...committed.value, state: 'fenced' } };
    await replicas[0]!.inner.write('PARTITION#7', unfinished);

    const entry = (await map.readMany([7])).get(7);

    expect(entry).toMatchObject({ epoch: 2, ballot: 'zz', state: 'fenced' });
    const holders = replicas.filter((r) => r.inner.peek('PARTITION#7')?.ballot === 'zz');
    expect(holders.length).toBeGreaterThanOrEqual(2);
  });

  it('answers with one region down and refuses without a majority', async () => {
    const { replicas, map } = cluster();
    await map.claim(9, 'eu-west-1');
    replicas[2]!.down = true;
    expect((await map.readMany([9])).get(9)).toMatchObject({ home: 'eu-west-1' });
    replicas[1]!.down = true;
    await expect(map.readMany([9])).rejects.toBeInstanceOf(QuorumUnavailableError);
  });
});

describe('reading every partition with one scan round', () => {
  it('asks each replica once, reads no key on its own, and agrees with readMany', async () => {
    const { replicas, map } = cluster();
    for (const p of [1, 2, 3, 40]) await map.claim(p, REGIONS[p % 3]!);
    for (const r of replicas) r.calls = { read: 0, write: 0, readMany: 0, writeMany: 0 };

    const all = await map.readAll();

    expect(replicas.map((r) => r.scans)).toEqual([1, 1, 1]);
    expect(replicas.map((r) => r.calls)).toEqual(
      replicas.map(() => ({ read: 0, write: 0, readMany: 0, writeMany: 0 })),
    );
    const byNumber = await map.readMany([1, 2, 3, 40]);
    expect(all).toEqual([1, 2, 3, 40].map((p) => byNumber.get(p)));
  });

  it('completes a proposal it finds on one replica only before returning it', async () => {
    const { replicas, map } = cluster();
    await map.claim(1, 'us-east-1');
    // A first claim of partition 5 reached one replica (one the scan round hears from), then its
    // proposer vanished.
    await replicas[0]!.inner.write('PARTITION#5', {
      epoch: 1,
      ballot: 'lone',
      value: { home: 'eu-west-1', state: 'active', activeFrom: 0 },
    });

    const all = (await map.readAll())!;

    expect(all.map((e) => e.partition)).toEqual([1, 5]);
    expect(all[1]).toMatchObject({ epoch: 1, ballot: 'lone', home: 'eu-west-1' });
    expect(
      replicas.filter((r) => r.inner.peek('PARTITION#5')?.ballot === 'lone').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('answers with one region down, and gives up (undefined: read by number) without a majority', async () => {
    const { replicas, map } = cluster();
    await map.claim(9, 'eu-west-1');
    replicas[0]!.down = true;
    expect(await map.readAll()).toMatchObject([{ partition: 9, home: 'eu-west-1' }]);
    replicas[1]!.down = true;
    expect(await map.readAll()).toBeUndefined();
  });

  it('gives up (undefined) when a replica cannot scan', async () => {
    const replicas = REGIONS.map((r) => new CountingReplica(r));
    const plain: ControlReplica = {
      region: 'ap-southeast-1',
      read: (k) => replicas[2]!.read(k),
      write: (k, r) => replicas[2]!.write(k, r),
    };
    const register = new QuorumRegister({ replicas: [replicas[0]!, replicas[1]!, plain] });
    expect(await register.readPrefix('PARTITION#')).toBeUndefined();
    expect(replicas.map((r) => r.scans)).toEqual([0, 0, 0]);
  });

  it('decides every key as readMany does, whatever each replica holds (property)', async () => {
    // One proposal (epoch, ballot) carries one value: two replicas never hold the same proposal with two values.
    const record = fc
      .record({ epoch: fc.integer({ min: 1, max: 3 }), ballot: fc.constantFrom('a', 'b') })
      .map(({ epoch, ballot }) => ({ epoch, ballot, value: `${ballot}${epoch}` }));
    // Per replica, per partition 0..4: nothing or some record.
    const states = fc.array(fc.array(fc.option(record, { nil: undefined }), { minLength: 5, maxLength: 5 }), {
      minLength: 3,
      maxLength: 3,
    });
    await fc.assert(
      fc.asyncProperty(states, async (held) => {
        const setup = () => {
          const replicas = REGIONS.map((r) => new InMemoryControlReplica(r));
          held.forEach((keys, i) => {
            keys.forEach((r, p) => {
              if (r) void replicas[i]!.write(`PARTITION#${p}`, r);
            });
          });
          let n = 0;
          return new QuorumRegister({ replicas, newBallot: () => `n${++n}` });
        };
        const keys = [0, 1, 2, 3, 4].map((p) => `PARTITION#${p}`);
        const pick = (r: RegisterRecord<unknown> | null | undefined) =>
          r ? { epoch: r.epoch, value: r.value } : null;
        const scanned = (await setup().readPrefix<string>('PARTITION#', (c) => c[0]!.value))!;
        const byKey = await setup().readMany<string>(keys, (c) => c[0]!.value);
        keys.forEach((key, p) => {
          const seen = pick(scanned.get(key));
          const read = pick(byKey.get(key));
          const holding = (r: { epoch: number; value: unknown } | null) =>
            r
              ? held.filter((replica) => replica[p]?.epoch === r.epoch && replica[p]?.value === r.value)
                  .length
              : 0;
          const committed = held.some((replica) => holding(replica[p] ?? null) >= 2);
          // The scan round ends once a majority answered and agrees on every key it saw; readMany reads each
          // key on every replica and completes a proposal only a minority holds (a read-repair). So the scan
          // may miss a key only a minority holds, or answer its committed record where readMany completed a
          // newer proposal in flight; a committed key it never misses, and otherwise it decides as readMany.
          if (seen === null) {
            expect(committed).toBe(false);
            return;
          }
          if (read && read.epoch > seen.epoch) {
            expect(holding(seen)).toBeGreaterThanOrEqual(2);
            expect(holding(read)).toBeLessThan(2);
            return;
          }
          expect(seen).toEqual(read);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('batch compare-and-set', () => {
  it('commits every change at epoch + 1 in one write round per replica', async () => {
    const { replicas, map } = cluster();
    for (const p of [1, 2]) await map.claim(p, 'ap-southeast-1');
    const entries = await map.readMany([1, 2]);
    for (const r of replicas) r.calls = { read: 0, write: 0, readMany: 0, writeMany: 0 };

    const outcomes = await map.changeMany(
      [1, 2].map((p) => ({ current: entries.get(p)!, change: { state: 'fenced', reason: 'rehome' } })),
    );

    expect(replicas.map((r) => r.calls.writeMany)).toEqual([1, 1, 1]);
    expect(outcomes.map((o) => o.entry)).toMatchObject([
      { partition: 1, epoch: 2, state: 'fenced', home: 'ap-southeast-1' },
      { partition: 2, epoch: 2, state: 'fenced', home: 'ap-southeast-1' },
    ]);
    expect(await map.read(1)).toMatchObject({ epoch: 2, state: 'fenced' });
  });

  it('loses only the change whose expected entry is stale, and keeps the other', async () => {
    const { map } = cluster();
    for (const p of [1, 2]) await map.claim(p, 'us-east-1');
    const stale = await map.readMany([1, 2]);
    await map.change(2, stale.get(2)!, { state: 'fenced', reason: 'operator' });

    const outcomes = await map.changeMany(
      [1, 2].map((p) => ({ current: stale.get(p)!, change: { state: 'fenced', reason: 'rehome' } })),
    );

    expect(outcomes.find((o) => o.partition === 1)?.entry).toMatchObject({ epoch: 2 });
    expect(outcomes.find((o) => o.partition === 2)?.error).toBeInstanceOf(EpochConflictError);
    expect(await map.read(2)).toMatchObject({ epoch: 2, reason: 'operator' });
  });

  it('reports a transition the rules forbid without proposing it', async () => {
    const { map } = cluster();
    const claimed = await map.claim(4, 'us-east-1');
    const [outcome] = await map.changeMany([{ current: claimed, change: { home: 'eu-west-1' } }]);
    expect(outcome?.error).toBeInstanceOf(InvalidTransitionError);
    expect(await map.read(4)).toMatchObject({ epoch: 1, home: 'us-east-1' });
  });

  it('fails every change with QuorumUnavailableError when a majority cannot be written', async () => {
    const { replicas, map } = cluster();
    const claimed = await map.claim(5, 'us-east-1');
    replicas[1]!.down = true;
    replicas[2]!.down = true;
    const [outcome] = await map.changeMany([{ current: claimed, change: { state: 'fenced' } }]);
    expect(outcome?.error).toBeInstanceOf(QuorumUnavailableError);
  });

  it('works over replicas without batch methods (one call per key, concurrently)', async () => {
    const replicas = REGIONS.map((r) => new InMemoryControlReplica(r));
    const map = new PartitionMap({
      register: new QuorumRegister({ replicas }),
      leaseMs: 1_000,
      skewMarginMs: 200,
    });
    for (const p of [1, 2, 3]) await map.claim(p, 'eu-west-1');
    const entries = await map.readMany([1, 2, 3]);
    const outcomes = await map.changeMany(
      [...entries.values()].map((current) => ({ current: current!, change: { state: 'fenced' } })),
    );
    expect(outcomes.every((o) => o.entry?.epoch === 2)).toBe(true);
  });

  it('refuses a batch naming the same key twice', async () => {
    const { register } = cluster();
    await expect(
      register.compareAndSetMany([
        { key: 'K', expected: null, value: 1 },
        { key: 'K', expected: null, value: 2 },
      ]),
    ).rejects.toBeInstanceOf(RangeError);
  });
});

/** A replica that takes 1 ms per key of a batch, as a busy control table does with a big batch. */
class SlowBatchReplica extends CountingReplica {
  largestBatch = 0;

  override async readMany<V>(keys: readonly string[]) {
    this.largestBatch = Math.max(this.largestBatch, keys.length);
    await new Promise((r) => setTimeout(r, keys.length));
    return super.readMany<V>(keys);
  }

  override async writeMany<V>(items: ReadonlyArray<{ key: string; record: RegisterRecord<V> }>) {
    this.largestBatch = Math.max(this.largestBatch, items.length);
    await new Promise((r) => setTimeout(r, items.length));
    return super.writeMany<V>(items);
  }
}

describe('big batches', () => {
  // 1,000 keys take a replica 1 s in one round: past the 600 ms call timeout, every replica would count as
  // down; in rounds of BATCH_ROUND_KEYS (100 or 250 ms each) every one answers in time.
  const big = Array.from({ length: 1_000 }, (_, i) => `PARTITION#${i}`);
  const slowCluster = () => {
    const replicas = REGIONS.map((r) => new SlowBatchReplica(r));
    return { replicas, register: new QuorumRegister({ replicas, callTimeoutMs: 600 }) };
  };

  it(`writes and reads ${big.length} keys in rounds of ${BATCH_ROUND_KEYS.write} and ${BATCH_ROUND_KEYS.read}, each within the call timeout`, async () => {
    const { replicas, register } = slowCluster();
    const written = await register.compareAndSetMany(big.map((key) => ({ key, expected: null, value: key })));
    expect(written.filter((o) => o.error)).toEqual([]);
    const read = await register.readMany<string>(big);
    expect([...read.values()].map((r) => r?.value)).toEqual(big);
    expect(replicas.map((r) => r.largestBatch)).toEqual(replicas.map(() => BATCH_ROUND_KEYS.read));
  });
});

describe('a batch read round a majority did not answer', () => {
  it('asks again for the keys left without a majority instead of failing the whole read', async () => {
    const { replicas, map } = cluster();
    for (const p of [1, 2, 3]) await map.claim(p, REGIONS[0]);
    replicas[2]!.down = true;
    // The second replica misses its first batch call only (a call timed out on a busy table).
    const flaky = replicas[1]!;
    const readMany = flaky.readMany.bind(flaky);
    let missed = false;
    flaky.readMany = async <V>(keys: readonly string[]) => {
      if (!missed) {
        missed = true;
        throw new Error('timed out');
      }
      return readMany<V>(keys);
    };
    const entries = await map.readMany([1, 2, 3]);
    expect([...entries.values()].map((e) => e?.home)).toEqual([REGIONS[0], REGIONS[0], REGIONS[0]]);
    expect(missed).toBe(true);
  });
});

describe('batch write round: per item outcomes', () => {
  /** A replica whose batch write fails the items named in `failing` (errors, not refusals), storing the others. */
  class PartlyFailing extends InMemoryControlReplica {
    constructor(
      region: string,
      private readonly failing: ReadonlySet<string>,
    ) {
      super(region);
    }
    async writeOutcomes<V>(items: ReadonlyArray<{ key: string; record: RegisterRecord<V> }>) {
      return Promise.all(
        items.map(async (i): Promise<WriteOutcome> => {
          if (this.failing.has(i.key)) return 'failed';
          return (await this.write(i.key, i.record)) ? 'stored' : 'refused';
        }),
      );
    }
  }

  it("counts an item's failure on a replica as no answer for that item only, never as a refusal", async () => {
    const replicas = REGIONS.map((r, i) => new PartlyFailing(r, new Set(i < 2 ? ['k1'] : [])));
    const record = { epoch: 1, ballot: 'b', value: 'v' };
    const outcomes = await batchWriteRound({ replicas, majority: 2, withTimeout: (call) => call }, [
      { key: 'k0', record },
      { key: 'k1', record },
    ]);
    // k0 reached a majority; k1 can no longer reach one (two replicas failed it), and nobody refused it.
    expect(outcomes.map((o) => o.rejected)).toEqual([0, 0]);
    expect(outcomes[0]!.acks).toBeGreaterThanOrEqual(2);
    expect(outcomes[1]!.acks).toBeLessThanOrEqual(1);
  });
});
