import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FailoverStart,
  type Observation,
  type ObservationStore,
  type ProbeResult,
  Watchdog,
  type WatchdogDeps,
} from '../../../lib/detection/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  type ControlReplica,
  InMemoryControlReplica,
  QuorumRegister,
  type RegisterRecord,
} from '../../../lib/ownership/index.ts';

const [A, B, C] = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
const REGIONS = [A, B, C];

/** A replica whose every call is delivered when the scheduler says so (adversarial interleavings). */
class ScheduledReplica implements ControlReplica {
  constructor(
    private readonly inner: InMemoryControlReplica,
    private readonly s: fc.Scheduler | undefined,
  ) {}

  get region() {
    return this.inner.region;
  }

  async read<V>(key: string) {
    await this.s?.schedule(Promise.resolve(), `${this.region} read ${key}`);
    return this.inner.read<V>(key);
  }

  async write<V>(key: string, record: RegisterRecord<V>) {
    await this.s?.schedule(Promise.resolve(), `${this.region} write ${key} e${record.epoch}`);
    return this.inner.write(key, record);
  }
}

/** Every region's observations in one map (what the control tables hold), reached through the scheduler. */
class SharedObservations {
  readonly rows = new Map<string, Observation>();

  storeFor(s?: fc.Scheduler): ObservationStore {
    return {
      publish: async (o) => {
        await s?.schedule(Promise.resolve(), `publish ${o.observer}->${o.target}`);
        this.rows.set(`${o.observer}|${o.target}`, o);
      },
      read: async (observer, target) => {
        await s?.schedule(Promise.resolve(), `read ${observer}->${target}`);
        return this.rows.get(`${observer}|${target}`) ?? null;
      },
    };
  }
}

interface World {
  readonly stores: readonly InMemoryControlReplica[];
  readonly starts: Array<{ region: string; start: FailoverStart }>;
  readonly probes: Map<string, ProbeResult>;
  readonly heartbeatAges: Map<string, number | null>;
  readonly drained: Set<string>;
  now: number;
  watchdog(region: string, overrides?: Partial<WatchdogDeps>): Watchdog;
}

/** Regions whose watchdogs share the control state; probes and heartbeats are what the test says. */
function world(s?: fc.Scheduler): World {
  const stores = REGIONS.map((r) => new InMemoryControlReplica(r));
  const observations = new SharedObservations();
  const w: World = {
    stores,
    starts: [],
    probes: new Map(REGIONS.map((r) => [r, { verdict: 'up', detail: 'HTTP 200' }])),
    heartbeatAges: new Map(REGIONS.map((r) => [r, 1_000])),
    drained: new Set(),
    now: 1_000_000,
    watchdog(region, overrides = {}) {
      let ballots = 0;
      const register = new QuorumRegister({
        replicas: stores.map((store) => new ScheduledReplica(store, s)),
        callTimeoutMs: 0,
        newBallot: () => `${String(++ballots).padStart(4, '0')}-${region}`,
      });
      return new Watchdog({
        region,
        regions: REGIONS,
        autoFailover: true,
        failureThreshold: 2,
        staleHeartbeatMs: 10_000,
        observationFreshMs: 15_000,
        claimRetryMs: 120_000,
        readTimeoutMs: 60_000,
        probe: async (target) => w.probes.get(target)!,
        heartbeatAgeMs: async (target) => w.heartbeatAges.get(target) ?? null,
        observations: observations.storeFor(s),
        register,
        isDrained: async (target) => w.drained.has(target),
        startFailover: async (start) => {
          w.starts.push({ region, start });
        },
        now: () => w.now,
        ...overrides,
      });
    },
  };
  return w;
}

/**
 * Two proposers in lockstep: each one's claim reaches its own region's replica first, and only then the
 * other's (which already holds the other claim at that epoch, so both lose). Opens after both own writes,
 * or after 50 ms when only one proposes; from then on writes go through.
 */
class Lockstep {
  private own = 0;
  private release!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  ownWritten(): void {
    if (++this.own >= 2) this.release();
    setTimeout(() => this.release(), 50);
  }
}

/** `writer`'s view of a replica: a down region throws; cross-region writes wait for the lockstep gate. */
class LockstepReplica implements ControlReplica {
  constructor(
    private readonly inner: InMemoryControlReplica,
    private readonly writer: string,
    private readonly gate: Lockstep,
    private readonly down: string,
  ) {}

  get region() {
    return this.inner.region;
  }

  async read<V>(key: string) {
    if (this.region === this.down) throw new Error(`${this.down} is down`);
    return this.inner.read<V>(key);
  }

  async write<V>(key: string, record: RegisterRecord<V>) {
    if (this.region === this.down) throw new Error(`${this.down} is down`);
    if (this.region !== this.writer) await this.gate.opened;
    const stored = await this.inner.write(key, record);
    if (this.region === this.writer) this.gate.ownWritten();
    return stored;
  }
}

function lose(w: World, region: string): void {
  w.probes.set(region, { verdict: 'down', detail: 'no answer within 2000 ms' });
  w.heartbeatAges.set(region, 30_000);
}

describe('the watchdog (failure detector of every region)', () => {
  it('starts exactly one Failover when every survivor suspects the lost region, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom('a', 'b', 'both'), { minLength: 3, maxLength: 8 }),
        async (s, rounds) => {
          const w = world(s);
          lose(w, C);
          const dogs = { a: w.watchdog(A), b: w.watchdog(B) };
          for (const round of rounds) {
            const ticks =
              round === 'both' ? [dogs.a.tick(), dogs.b.tick()] : [dogs[round as 'a' | 'b'].tick()];
            await s.waitFor(Promise.all(ticks));
            w.now += 5_000;
          }
          const names = new Set(w.starts.map((x) => x.start.name));
          // Both watchdogs saw C fail at least twice once the rounds had each tick at least twice.
          const ticksA = rounds.filter((r) => r !== 'b').length;
          const ticksB = rounds.filter((r) => r !== 'a').length;
          if (ticksA >= 2 && ticksB >= 2 && (rounds.at(-1) !== 'a' || ticksA >= 3)) {
            expect(names.size).toBe(1);
          } else {
            expect(names.size).toBeLessThanOrEqual(1);
          }
          for (const { region, start } of w.starts) {
            expect(start.input.region).toBe(C);
            expect(start.input.claimedBy).toBe(region);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('starts two Failovers when the quorum claim is switched off (unclaimed-failover)', async () => {
    const twice = async () => {
      const w = world();
      lose(w, C);
      const [a, b] = [w.watchdog(A), w.watchdog(B)];
      // B reaches a majority first (round 2), A one round later: each decides on its own evidence.
      for (let round = 0; round < 3; round++) {
        await a.tick();
        await b.tick();
        w.now += 5_000;
      }
      return w.starts.map((x) => x.region).sort();
    };
    expect(await twice()).toEqual([B]);
    expect(await withBug('unclaimed-failover', twice)).toEqual([B, A].sort());
  });

  it('resolves two survivors claiming in lockstep within the tick (each took its own replica and lost)', async () => {
    const run = async () => {
      const w = world();
      lose(w, C);
      const gate = new Lockstep();
      const dog = (region: string) =>
        w.watchdog(region, {
          register: new QuorumRegister({
            replicas: w.stores.map((store) => new LockstepReplica(store, region, gate, C)),
            callTimeoutMs: 0,
          }),
          claimBackoffMs: 5,
        });
      const [a, b] = [dog(A), dog(B)];
      const actions: string[] = [];
      for (let round = 0; round < 3; round++) {
        const reports = await Promise.all([a.tick(), b.tick()]);
        for (const report of reports.flat()) if (report.action) actions.push(report.action);
        w.now += 5_000;
      }
      return { actions, starts: w.starts.map((x) => x.region) };
    };
    const fixed = await run();
    // One of them finds, on its retry, the claim its read settled (its own: started; the other's: left).
    expect(fixed.starts).toHaveLength(1);
    expect(fixed.actions.slice(0, 2).sort()).toEqual(['left-to-claimer', 'started']);
    // The old watchdog: both lose every round, and nothing starts until their schedules drift apart.
    const lockstep = await withBug('lockstep-claims', run);
    expect(lockstep.actions.length).toBeGreaterThanOrEqual(4);
    expect(new Set(lockstep.actions)).toEqual(new Set(['lost-race']));
    expect(lockstep.starts).toEqual([]);
  });

  it('does not fail over a peer that only one region cannot reach (a minority)', async () => {
    const w = world();
    const b = w.watchdog(B);
    // A's link to C is cut: A's probes fail and C's heartbeats stop reaching A, but B sees C fine.
    const cutFromA = { verdict: 'down' as const, detail: 'link down' };
    const onlyA = w.watchdog(A, {
      probe: async (target) => (target === C ? cutFromA : w.probes.get(target)!),
      heartbeatAgeMs: async (target) => (target === C ? 60_000 : 1_000),
    });
    for (let i = 0; i < 5; i++) {
      const reports = await Promise.all([onlyA.tick(), b.tick()]);
      expect(reports[0].find((r) => r.target === C)?.observation.suspect).toBe(i >= 1);
      w.now += 5_000;
    }
    expect(w.starts).toEqual([]);
  });

  it('needs failureThreshold failed probes in a row and silent heartbeats before it suspects', async () => {
    const w = world();
    const a = w.watchdog(A);
    w.probes.set(C, { verdict: 'down', detail: 'timeout' });
    expect((await a.tick()).find((r) => r.target === C)?.observation).toMatchObject({
      failures: 1,
      suspect: false,
    });
    // Heartbeats still arrive: the region replicates, its API alone is unreachable (or flooded).
    expect((await a.tick()).find((r) => r.target === C)?.observation).toMatchObject({
      failures: 2,
      suspect: false,
    });
    w.heartbeatAges.set(C, 11_000);
    expect((await a.tick()).find((r) => r.target === C)?.observation.suspect).toBe(true);
    w.probes.set(C, { verdict: 'up', detail: 'HTTP 200' });
    expect((await a.tick()).find((r) => r.target === C)?.observation).toMatchObject({
      failures: 0,
      suspect: false,
    });
  });

  it('does not suspect a region it never heard from, nor one that is drained on purpose', async () => {
    const w = world();
    const a = w.watchdog(A);
    const b = w.watchdog(B);
    w.probes.set(C, { verdict: 'down', detail: 'connection refused' });
    w.heartbeatAges.set(C, null);
    for (let i = 0; i < 3; i++) await Promise.all([a.tick(), b.tick()]);
    w.probes.set(C, { verdict: 'drained', detail: 'HTTP 503 drained' });
    w.heartbeatAges.set(C, 60_000);
    for (let i = 0; i < 3; i++) await Promise.all([a.tick(), b.tick()]);
    expect(w.starts).toEqual([]);
  });

  it('takes over a claim whose Failover did not drain the region within claimRetry', async () => {
    const w = world();
    lose(w, C);
    // A claims first, but its StartExecution fails (the claim is held, nothing runs).
    let broken = true;
    const a = w.watchdog(A, {
      startFailover: async (start) => {
        if (broken) throw new Error('A could not reach Step Functions');
        w.starts.push({ region: A, start });
      },
    });
    const b = w.watchdog(B);
    await b.tick();
    await b.tick();
    await a.tick();
    await expect(a.tick()).rejects.toThrow(/Step Functions/);
    expect((await b.tick()).find((r) => r.target === C)?.action).toBe('left-to-claimer');
    expect(w.starts).toEqual([]);
    broken = false;
    w.now += 120_000;
    const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
    const actions = [ra, rb].map((reports) => reports.find((r) => r.target === C)?.action).sort();
    expect(actions).toContain('took-over');
    expect(w.starts.map((x) => x.start.name)).toEqual(['failover-ap-southeast-1-claim-2']);
    // Once the Failover drained C, nobody claims again, however long C stays lost.
    w.drained.add(C);
    w.now += 600_000;
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([a.tick(), b.tick()]);
    expect(w.starts).toHaveLength(1);
  });

  it('with autoFailover off, observes and publishes but never claims', async () => {
    const w = world();
    lose(w, C);
    const a = w.watchdog(A, { autoFailover: false });
    const b = w.watchdog(B, { autoFailover: false });
    for (let i = 0; i < 4; i++) {
      const [ra] = await Promise.all([a.tick(), b.tick()]);
      expect(ra.find((r) => r.target === C)?.action).toBeUndefined();
    }
    expect(w.starts).toEqual([]);
  });
});
