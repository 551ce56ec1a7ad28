import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ControlReplica,
  fencePartition,
  InMemoryControlReplica,
  movePartitionHome,
  type PartitionChange,
  type PartitionEntry,
  PartitionMap,
  PartitionOwnership,
  QuorumRegister,
  type RegisterRecord,
  unfencePartition,
} from '../../../lib/ownership/index.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const PARTITION = 7;
const LEASE_MS = 1_000;

type Fault = 'ok' | 'drop-request' | 'drop-response';
type Step = { actor: number; op: string; target: number };
const stats = { ok: 0, failed: 0, writes: 0 };
const reasons: Record<string, number> = {};

/** A replica behind a lossy, adversarially scheduled link: requests or responses may be lost. */
class LossyReplica implements ControlReplica {
  constructor(
    private readonly inner: InMemoryControlReplica,
    private readonly link: { s: fc.Scheduler; down: boolean; fault: () => Fault },
  ) {}

  get region() {
    return this.inner.region;
  }

  read<V>(key: string) {
    return this.deliver(() => this.inner.read<V>(key), 'read');
  }

  write<V>(key: string, record: RegisterRecord<V>) {
    return this.deliver(() => this.inner.write(key, record), `write e${record.epoch}`);
  }

  private async deliver<T>(call: () => Promise<T>, label: string): Promise<T> {
    await this.link.s.schedule(Promise.resolve(), `${this.region} ${label} request`);
    const fault = this.link.fault();
    if (this.link.down || fault === 'drop-request') throw new Error('request lost');
    const result = await call();
    await this.link.s.schedule(Promise.resolve(), `${this.region} ${label} response`);
    if (fault === 'drop-response') throw new Error('response lost');
    return result;
  }
}

const operation = fc.record({
  actor: fc.integer({ min: 0, max: REGIONS.length - 1 }),
  op: fc.constantFrom(
    'claim',
    'read',
    'fence',
    'move',
    'unfence',
    'write',
    'write',
    'write',
    'read-many',
    'fence-many',
    'rehome-many',
  ),
  target: fc.integer({ min: 0, max: REGIONS.length - 1 }),
});

describe('quorum register (partition map) under message loss and one region down', () => {
  it('never lets the epoch go backwards nor two regions be home at the same epoch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.option(fc.integer({ min: 0, max: REGIONS.length - 1 }), { nil: undefined }),
        fc.array(
          fc.oneof(
            { weight: 8, arbitrary: fc.constant<Fault>('ok') },
            fc.constantFrom<Fault>('drop-request', 'drop-response'),
          ),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        fc.array(fc.array(operation, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (s, down, faults, batches) => {
          let faultIndex = 0;
          const fault = () => faults[faultIndex++ % faults.length]!;
          const stores = REGIONS.map((r) => new InMemoryControlReplica(r));
          let wall = 1_000_000;
          let mono = 0;
          const actors = REGIONS.map((region, i) => {
            const replicas = stores.map(
              (store, j) => new LossyReplica(store, { s, down: j === down, fault }),
            );
            let ballots = 0;
            const register = new QuorumRegister({
              replicas,
              callTimeoutMs: 0,
              newBallot: () => `${String(++ballots).padStart(4, '0')}-${region}`,
            });
            const map = new PartitionMap({ register, leaseMs: LEASE_MS, skewMarginMs: 0, now: () => wall });
            const ownership = new PartitionOwnership({
              region,
              map,
              local: replicas[i]!,
              controlTable: 'control',
              now: () => wall,
              monotonic: () => mono,
            });
            return { region, map, ownership };
          });

          const committed = new Map<number, string>(); // epoch -> ballot@home
          const believers = new Map<number, Set<string>>(); // epoch -> regions that got a write fence
          const observe = (entry: PartitionEntry | null) => {
            if (!entry) return -1;
            const id = `${entry.ballot}@${entry.home}/${entry.state}`;
            const seen = committed.get(entry.epoch);
            if (seen !== undefined) expect(id, `two values committed at epoch ${entry.epoch}`).toBe(seen);
            committed.set(entry.epoch, id);
            return entry.epoch;
          };
          // The batch operations (readMany / changeMany) over this one partition, as the failover uses them.
          const changeInBatch = async (map: PartitionMap, change: (e: PartitionEntry) => PartitionChange) => {
            const current = (await map.readMany([PARTITION])).get(PARTITION);
            if (!current) return -1;
            const [outcome] = await map.changeMany([{ current, change: change(current) }]);
            if (outcome?.error) throw outcome.error;
            return observe(outcome?.entry ?? null);
          };
          const run = async (step: Step) => {
            const actor = actors[step.actor]!;
            switch (step.op) {
              case 'read-many':
                return observe((await actor.map.readMany([PARTITION])).get(PARTITION) ?? null);
              case 'fence-many':
                return changeInBatch(actor.map, () => ({ state: 'fenced', reason: 'rehome' }));
              case 'rehome-many':
                return changeInBatch(actor.map, (e) =>
                  e.state === 'fenced' ? { home: REGIONS[step.target]!, state: 'active' } : {},
                );
              case 'claim':
                return observe(await actor.map.claim(PARTITION, actor.region));
              case 'read':
                return observe(await actor.map.read(PARTITION));
              case 'fence':
                return observe(await fencePartition(actor.map, PARTITION));
              case 'move':
                return observe(await movePartitionHome(actor.map, PARTITION, REGIONS[step.target]!));
              case 'unfence':
                return observe(await unfencePartition(actor.map, PARTITION));
              default: {
                const fence = await actor.ownership.fenceCoreWrite(PARTITION);
                const set = believers.get(fence.epoch) ?? new Set<string>();
                set.add(actor.region);
                stats.writes++;
                believers.set(fence.epoch, set);
                expect(set.size, `two homes at epoch ${fence.epoch}: ${[...set]}`).toBe(1);
                return fence.epoch;
              }
            }
          };

          let floor = -1;
          // Most runs start from a claimed partition so the moves and writes have something to act on.
          for (const batch of [[{ actor: 0, op: 'claim', target: 0 }], ...batches]) {
            const outcomes = await s.waitFor(Promise.allSettled(batch.map(run)));
            for (const outcome of outcomes) {
              if (outcome.status === 'fulfilled') stats.ok++;
              else {
                stats.failed++;
                reasons[outcome.reason?.name] = (reasons[outcome.reason?.name] ?? 0) + 1;
              }
              if (outcome.status === 'rejected') {
                // Losing a race or a quorum is allowed; breaking an invariant is not.
                if (outcome.reason?.name === 'AssertionError') throw outcome.reason;
                continue;
              }
              expect(outcome.value, 'epoch went backwards').toBeGreaterThanOrEqual(floor);
            }
            const epochs = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
            floor = Math.max(floor, ...epochs);
            wall += 10 * LEASE_MS; // later batches start after every lease and activeFrom of this one
            mono += 10 * LEASE_MS;
          }
        },
      ),
      { numRuns: 150 },
    );
    // The property must have exercised the interesting paths, not only failures.
    expect(stats.ok).toBeGreaterThan(100);
    expect(stats.writes).toBeGreaterThan(10);
    expect(Object.keys(reasons)).toContain('QuorumUnavailableError');
  });
});
