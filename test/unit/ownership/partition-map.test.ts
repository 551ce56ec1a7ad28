import { describe, expect, it } from 'vitest';
import {
  hotPartitionReport,
  InMemoryControlReplica,
  InvalidTransitionError,
  nextPartitionValue,
  type PartitionEntry,
  partitionOf,
  QuorumRegister,
  RequestCounter,
  replicaAccepts,
} from '../../../lib/ownership/index.ts';

const entry = (overrides: Partial<PartitionEntry> = {}): PartitionEntry => ({
  partition: 3,
  epoch: 4,
  ballot: 'b4',
  home: 'us-east-1',
  state: 'active',
  activeFrom: 0,
  ...overrides,
});
const clock = { now: 10_000, holdMs: 700 };

describe('partition hashing', () => {
  it('maps a key to the same partition forever (FNV-1a, part of the data format)', () => {
    expect(partitionOf('alice', 256)).toBe(partitionOf('alice', 256));
    expect(partitionOf('', 256)).toBe(0x811c9dc5 % 256);
    const spread = new Set(Array.from({ length: 2_000 }, (_, i) => partitionOf(`user-${i}`, 256)));
    expect(spread.size).toBeGreaterThan(240);
  });
});

describe('partition map transitions', () => {
  it('claims an unknown partition as active at once', () => {
    expect(nextPartitionValue(null, { home: 'eu-west-1' }, clock)).toEqual({
      home: 'eu-west-1',
      state: 'active',
      activeFrom: 0,
    });
  });

  it('refuses to move the home of an active partition without fencing it first', () => {
    expect(() => nextPartitionValue(entry(), { home: 'eu-west-1' }, clock)).toThrow(InvalidTransitionError);
  });

  it('moves a fenced partition and holds the new home back for a lease after unfencing', () => {
    const fenced = nextPartitionValue(entry(), { state: 'fenced', reason: 'rehome' }, clock);
    expect(fenced).toMatchObject({ state: 'fenced', reason: 'rehome', home: 'us-east-1' });
    const moved = nextPartitionValue(entry({ ...fenced, epoch: 5 }), { home: 'eu-west-1' }, clock);
    expect(moved).toMatchObject({ state: 'fenced', home: 'eu-west-1' });
    const active = nextPartitionValue(
      entry({ ...moved, epoch: 6 }),
      { state: 'active' },
      { ...clock, now: 12_000 },
    );
    expect(active).toEqual({ home: 'eu-west-1', state: 'active', activeFrom: 12_700 });
  });

  it('lets the new home write at once when the old home confirmed its fence (cooperative switchover)', () => {
    const moved = entry({ epoch: 6, home: 'eu-west-1', state: 'fenced', reason: 'rehome' });
    const at = { ...clock, now: 12_000 };
    expect(nextPartitionValue(moved, { state: 'active', sourceConfirmed: true }, at)).toEqual({
      home: 'eu-west-1',
      state: 'active',
      activeFrom: 12_000,
    });
    // An earlier hold still running is kept, and a change that does not unfence keeps activeFrom.
    const held = entry({ ...moved, activeFrom: 15_000 });
    expect(nextPartitionValue(held, { state: 'active', sourceConfirmed: true }, at).activeFrom).toBe(15_000);
    expect(nextPartitionValue(held, { home: 'ap-southeast-1', sourceConfirmed: true }, at).activeFrom).toBe(
      15_000,
    );
  });
});

describe('quorum register basics', () => {
  it('a replica keeps one proposal per epoch and never goes back', () => {
    const stored = { epoch: 2, ballot: 'a', value: {} };
    expect(replicaAccepts(stored, { epoch: 3, ballot: 'b', value: {} })).toBe(true);
    expect(replicaAccepts(stored, { epoch: 2, ballot: 'a', value: {} })).toBe(true);
    expect(replicaAccepts(stored, { epoch: 2, ballot: 'b', value: {} })).toBe(false);
    expect(replicaAccepts(stored, { epoch: 1, ballot: 'c', value: {} })).toBe(false);
  });

  it('survives one region down and completes a value only a minority holds', async () => {
    const replicas = ['a', 'b', 'c'].map((r) => new InMemoryControlReplica(r));
    const register = new QuorumRegister({ replicas, callTimeoutMs: 0 });
    const first = await register.compareAndSet('k', null, { v: 1 });
    const down = {
      region: 'c',
      read: () => Promise.reject(new Error('down')),
      write: () => Promise.reject(new Error('down')),
    };
    const degraded = new QuorumRegister({ replicas: [replicas[0]!, replicas[1]!, down], callTimeoutMs: 0 });
    const second = await degraded.compareAndSet('k', first, { v: 2 });
    expect(second.epoch).toBe(2);
    // A proposal that reached one replica only is completed (written back) by the next read.
    await replicas[2]!.write('k', { epoch: 3, ballot: 'zz', value: { v: 3 } });
    expect((await register.read('k'))?.epoch).toBe(3);
    expect(replicas.map((r) => r.peek('k')?.epoch).filter((e) => e === 3).length).toBeGreaterThanOrEqual(2);
  });

  it('supersedes two proposals that block each other with a new epoch', async () => {
    const replicas = ['a', 'b', 'c'].map((r) => new InMemoryControlReplica(r));
    await replicas[0]!.write('k', { epoch: 1, ballot: 'x', value: { home: 'a' } });
    await replicas[1]!.write('k', { epoch: 1, ballot: 'y', value: { home: 'b' } });
    const down = {
      region: 'c',
      read: () => Promise.reject(new Error('down')),
      write: () => Promise.reject(new Error('down')),
    };
    const register = new QuorumRegister({ replicas: [replicas[0]!, replicas[1]!, down], callTimeoutMs: 0 });
    const resolved = await register.read<{ home: string }>('k', (candidates) => ({
      home: `${candidates[0]!.value.home}!`,
    }));
    expect(resolved).toMatchObject({ epoch: 2, value: { home: 'b!' } });
  });
});

describe('hot partitions', () => {
  it('counts requests and suggests moving a partition to where most of its requests arrive', () => {
    const eu = new RequestCounter();
    eu.record(17, 900);
    eu.record(3, 40);
    const report = hotPartitionReport({
      countsByRegion: { 'eu-west-1': eu.snapshot(), 'us-east-1': { 17: 50, 3: 500 } },
      homes: { 17: 'us-east-1', 3: 'us-east-1' },
    });
    expect(report.hottest['eu-west-1']![0]).toEqual({ partition: 17, requests: 900 });
    expect(report.suggestions).toEqual([
      {
        partition: 17,
        from: 'us-east-1',
        to: 'eu-west-1',
        requestsAtTarget: 900,
        requestsAtHome: 50,
        total: 950,
      },
    ]);
    expect(eu.drain()).toEqual({ 17: 900, 3: 40 });
    expect(eu.snapshot()).toEqual({});
  });
});
