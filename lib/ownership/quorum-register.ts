import { ulid } from 'ulid';
import { EpochConflictError, type OwnershipError, QuorumUnavailableError } from './errors.ts';
import { type BatchRoundContext, batchReadRound, batchScanRound, batchWriteRound } from './quorum-batch.ts';
import { type ReadRound, type RegisterRecord, topCandidates } from './register-record.ts';
import type { ControlReplica } from './replica.ts';

export interface QuorumRegisterOptions {
  /** One replica per configured region, the local one included. */
  readonly replicas: readonly ControlReplica[];
  /** A replica that has not answered within this many ms counts as down for the round (0 = wait forever). */
  readonly callTimeoutMs?: number;
  /** Unique proposal ids; injectable so property tests replay deterministically. */
  readonly newBallot?: () => string;
  /** Read/write-back rounds before giving up under contention. */
  readonly maxRounds?: number;
}

/**
 * Builds the value of a new proposal when a read finds several proposals at the top epoch and none of them
 * can be completed (concurrent proposers, none reached a majority).
 */
export type ConflictResolver<V> = (candidates: ReadonlyArray<RegisterRecord<V>>) => V;

interface WriteOutcome {
  readonly acks: number;
  readonly rejected: number;
}

/** One compare-and-set of a batch: propose `value` at `expected.epoch + 1` under `key`. */
export interface CasProposal<V> {
  readonly key: string;
  readonly expected: RegisterRecord<V> | null;
  readonly value: V;
}

/** The outcome of one proposal of a batch: the committed record, or why it did not commit. */
export type CasOutcome<V> =
  | { readonly key: string; readonly record: RegisterRecord<V>; readonly error?: undefined }
  | { readonly key: string; readonly record?: undefined; readonly error: OwnershipError };

/**
 * Most keys in one batch round, and rounds in flight at once. A replica answers a round as a whole within
 * the call timeout: a round of thousands of keys (a Failover of 4,096 partitions reads every entry) took
 * longer than that on a busy replica and counted it as down, so big batches go in rounds of this size.
 * Every key's round is independent, so splitting them changes no key's outcome.
 */
export const BATCH_ROUND_KEYS = { read: 250, write: 100 } as const;

/**
 * Rounds in flight at once: reads are cheap batch gets, so four; writes are one conditional put per key
 * on every replica, so rounds in flight share one replica's throughput and each takes as long as all of
 * them: two (and smaller), so a round's time stays bounded while a second one overlaps its WAN round
 * trip (a Failover of 4,096 partitions: 13.8 s with one at a time, 10.7 s with four, real WAN latencies).
 */
const ROUNDS_IN_FLIGHT = { read: 4, write: 2 } as const;

/** `round` over consecutive slices of `items` (at most BATCH_ROUND_KEYS[kind] each), results in order. */
async function inRounds<T, R>(
  kind: keyof typeof ROUNDS_IN_FLIGHT,
  items: readonly T[],
  round: (part: readonly T[]) => Promise<R>,
): Promise<R[]> {
  const parts: T[][] = [];
  const size = BATCH_ROUND_KEYS[kind];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  const results = new Array<R>(parts.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < parts.length; i = next++) results[i] = await round(parts[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(ROUNDS_IN_FLIGHT[kind], parts.length) }, worker));
  return results;
}

/**
 * A multi-writer register replicated over every region's control table, read and written through
 * majorities (ABD-style, with compare-and-set on the epoch):
 * - a proposal for epoch e+1 commits when a majority of replicas stored it; since a replica holds at
 *   most one proposal per epoch and never goes back (`replicaAccepts`), at most one proposal per epoch
 *   can ever commit, so two proposers never both win;
 * - a read asks every replica, takes the top epoch among a majority of answers and writes it back to a
 *   majority before returning it unless a majority already holds it, so once a read returned epoch e
 *   every later read returns >= e (the register never goes backwards), and it survives losing any
 *   minority of regions.
 * @example const entry = await register.read('PARTITION#17'); await register.compareAndSet('PARTITION#17', entry, next);
 */
export class QuorumRegister {
  readonly majority: number;
  private readonly replicas: readonly ControlReplica[];
  private readonly callTimeoutMs: number;
  private readonly newBallot: () => string;
  private readonly maxRounds: number;

  constructor(options: QuorumRegisterOptions) {
    this.replicas = options.replicas;
    this.majority = Math.floor(options.replicas.length / 2) + 1;
    this.callTimeoutMs = options.callTimeoutMs ?? 2_000;
    this.newBallot = options.newBallot ?? ulid;
    this.maxRounds = options.maxRounds ?? 3;
  }

  /** Regions of the replicas, in order. */
  get regions(): string[] {
    return this.replicas.map((r) => r.region);
  }

  /** The committed value under `key` (null when none is committed); throws QuorumUnavailableError. */
  async read<V>(key: string, resolve?: ConflictResolver<V>): Promise<RegisterRecord<V> | null> {
    let lastError: Error | undefined;
    for (let round = 1; round <= this.maxRounds; round++) {
      try {
        const outcome = await this.readOnce(key, resolve);
        if (outcome !== undefined) return outcome;
      } catch (error) {
        if (!(error instanceof EpochConflictError) || round === this.maxRounds) throw error;
        lastError = error;
      }
    }
    throw lastError ?? new QuorumUnavailableError(key, 0, this.majority);
  }

  /**
   * The committed value of many keys with one batch read round (one round trip per replica for all keys);
   * a key whose round is not decisive (an unfinished or contended proposal) takes the single-key path.
   * Same guarantees as `read` per key; throws QuorumUnavailableError when no majority answered.
   */
  async readMany<V>(
    keys: readonly string[],
    resolve?: ConflictResolver<V>,
  ): Promise<Map<string, RegisterRecord<V> | null>> {
    const distinct = [...new Set(keys)];
    const found = new Map<string, RegisterRecord<V> | null>();
    if (distinct.length === 0) return found;
    const rounds = new Map<string, Map<string, RegisterRecord<V> | null>>();
    // Keys whose round a majority did not answer in time are asked again (up to maxRounds rounds): one
    // slow replica call among the many rounds of a big batch does not fail the whole read.
    let ask = distinct;
    for (let round = 1; round <= this.maxRounds && ask.length > 0; round++) {
      for (const chunk of await inRounds('read', ask, (part) => batchReadRound<V>(this.batchContext(), part)))
        for (const [key, answers] of chunk) rounds.set(key, answers);
      ask = ask.filter((key) => rounds.get(key)!.size < this.majority);
    }
    return this.decide(rounds, resolve);
  }

  /**
   * The committed value of every key beginning with `prefix`, in one round: each replica scans them.
   * A committed key is on a majority and a majority answered, so every committed key is among those
   * found; each is decided from its answers as `readMany` decides a key (an undecided one takes the
   * single-key path, completing or superseding its proposal). Undefined when a replica cannot scan or
   * no majority answered: read the keys by name then.
   */
  async readPrefix<V>(
    prefix: string,
    resolve?: ConflictResolver<V>,
  ): Promise<Map<string, RegisterRecord<V> | null> | undefined> {
    const round = await batchScanRound<V>(this.batchContext(), prefix);
    if (!round || round.answered < this.majority) return undefined;
    return this.decide(round.rounds, resolve);
  }

  /** Each key's value from its round's answers; keys a round did not decide go through `read`. */
  private async decide<V>(
    rounds: ReadonlyMap<string, ReadonlyMap<string, RegisterRecord<V> | null>>,
    resolve?: ConflictResolver<V>,
  ): Promise<Map<string, RegisterRecord<V> | null>> {
    const found = new Map<string, RegisterRecord<V> | null>();
    const undecided: string[] = [];
    for (const [key, answers] of rounds) {
      if (answers.size < this.majority) throw new QuorumUnavailableError(key, answers.size, this.majority);
      const [top] = topCandidates(answers);
      if (!top) found.set(key, null);
      else if (top.holders >= this.majority) found.set(key, top.record);
      else undecided.push(key);
    }
    // Bounded: after a batch write that reached only a minority, every key of a big batch can be undecided.
    const completed = (
      await inRounds('read', undecided, (part) => Promise.all(part.map((key) => this.read<V>(key, resolve))))
    ).flat();
    undecided.forEach((key, i) => {
      found.set(key, completed[i] ?? null);
    });
    return found;
  }

  /**
   * Many compare-and-sets in one batch write round (one round trip per replica for all of them). Each
   * proposal commits or fails on its own, exactly as `compareAndSet` would; nothing is thrown per key.
   */
  async compareAndSetMany<V>(proposals: ReadonlyArray<CasProposal<V>>): Promise<CasOutcome<V>[]> {
    if (new Set(proposals.map((p) => p.key)).size !== proposals.length)
      throw new RangeError('compareAndSetMany: every key may appear once');
    if (proposals.length === 0) return [];
    const items = proposals.map(({ key, expected, value }) => ({
      key,
      record: { epoch: (expected?.epoch ?? 0) + 1, ballot: this.newBallot(), value },
    }));
    const outcomes = (
      await inRounds('write', items, (part) => batchWriteRound(this.batchContext(), part))
    ).flat();
    return items.map(({ key, record }, i): CasOutcome<V> => {
      const { acks, rejected } = outcomes[i]!;
      if (acks >= this.majority) return { key, record };
      const expectedEpoch = proposals[i]!.expected?.epoch ?? 0;
      return {
        key,
        error:
          rejected > 0
            ? new EpochConflictError(key, expectedEpoch, acks, this.majority)
            : new QuorumUnavailableError(key, acks, this.majority),
      };
    });
  }

  private batchContext(): BatchRoundContext {
    return {
      replicas: this.replicas,
      majority: this.majority,
      withTimeout: (call) => this.withTimeout(call),
    };
  }

  /** One read round: the decided record, or undefined to go again. */
  private async readOnce<V>(
    key: string,
    resolve?: ConflictResolver<V>,
  ): Promise<RegisterRecord<V> | null | undefined> {
    const answers = await this.readRound<V>(key);
    if (answers.size < this.majority) throw new QuorumUnavailableError(key, answers.size, this.majority);
    const candidates = topCandidates(answers);
    if (candidates.length === 0) return null; // a majority has nothing: nothing is committed
    const held = candidates.find((c) => c.holders >= this.majority);
    if (held) return held.record;
    // Complete an unfinished proposal; at most one candidate per epoch can reach a majority.
    for (const candidate of candidates) {
      const outcome = await this.writeRound(key, candidate.record);
      if (outcome.acks >= this.majority) return candidate.record;
    }
    // Concurrent proposals blocked each other: supersede them all with a new epoch.
    const records = candidates.map((c) => c.record);
    return this.compareAndSet(key, records[0]!, resolve ? resolve(records) : records[0]!.value);
  }

  /**
   * Proposes `value` at epoch `expected.epoch + 1` (1 when `expected` is null); commits only if no other
   * proposal reached that epoch first. Throws EpochConflictError when it lost (re-read and decide again).
   */
  async compareAndSet<V>(
    key: string,
    expected: RegisterRecord<V> | null,
    value: V,
  ): Promise<RegisterRecord<V>> {
    const record: RegisterRecord<V> = { epoch: (expected?.epoch ?? 0) + 1, ballot: this.newBallot(), value };
    const outcome = await this.writeRound(key, record);
    if (outcome.acks >= this.majority) return record;
    if (outcome.rejected > 0)
      throw new EpochConflictError(key, expected?.epoch ?? 0, outcome.acks, this.majority);
    throw new QuorumUnavailableError(key, outcome.acks, this.majority);
  }

  /** Answers from the replicas: stops early once a majority agrees, else waits for every replica. */
  private readRound<V>(key: string): Promise<ReadRound<V>> {
    return new Promise((resolve) => {
      const answers = new Map<string, RegisterRecord<V> | null>();
      let settled = 0;
      const settle = () => {
        settled++;
        const [top] = topCandidates(answers);
        const empty = [...answers.values()].filter((r) => r === null).length;
        if (settled === this.replicas.length || Math.max(top?.holders ?? 0, empty) >= this.majority)
          resolve(answers);
      };
      for (const replica of this.replicas) {
        this.withTimeout(replica.read<V>(key)).then((record) => {
          answers.set(replica.region, record);
          settle();
        }, settle);
      }
    });
  }

  /** Writes to every replica; resolves once a majority acked or a majority can no longer be reached. */
  private writeRound<V>(key: string, record: RegisterRecord<V>): Promise<WriteOutcome> {
    return new Promise((resolve) => {
      let acks = 0;
      let rejected = 0;
      let failed = 0;
      const settle = () => {
        const hopeless = rejected + failed > this.replicas.length - this.majority;
        if (acks >= this.majority || hopeless || acks + rejected + failed === this.replicas.length)
          resolve({ acks, rejected });
      };
      for (const replica of this.replicas) {
        this.withTimeout(replica.write(key, record)).then(
          (stored) => {
            if (stored) acks++;
            else rejected++;
            settle();
          },
          () => {
            failed++;
            settle();
          },
        );
      }
    });
  }

  private withTimeout<T>(call: Promise<T>): Promise<T> {
    if (this.callTimeoutMs <= 0) return call;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('replica call timed out')), this.callTimeoutMs);
    });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }
}
