import { type ReadRound, type RegisterRecord, topCandidates } from './register-record.ts';
import { type ControlReplica, type ReplicaWrite, readFromReplica, writeToReplica } from './replica.ts';

/** What a batch round needs from its register: the replicas, the majority and the per-call timeout. */
export interface BatchRoundContext {
  readonly replicas: readonly ControlReplica[];
  readonly majority: number;
  withTimeout<T>(call: Promise<T>): Promise<T>;
}

/** Acks of one key in a batch write round. */
export interface KeyWriteOutcome {
  readonly acks: number;
  readonly rejected: number;
}

/** A key's read round is decisive once a majority holds the same top proposal, or a majority holds nothing. */
function decisive<V>(answers: ReadRound<V>, majority: number): boolean {
  const [top] = topCandidates(answers);
  let empty = 0;
  for (const record of answers.values()) if (record === null) empty++;
  return Math.max(top?.holders ?? 0, empty) >= majority;
}

/**
 * One read round for many keys: each replica is asked for all of them at once (one round trip per
 * replica, not per key). Resolves as soon as every key is decisive, else once every replica answered or
 * failed; the answers per key are what a single-key read round would have collected.
 */
export function batchReadRound<V>(
  context: BatchRoundContext,
  keys: readonly string[],
): Promise<Map<string, Map<string, RegisterRecord<V> | null>>> {
  const answers = new Map(keys.map((key) => [key, new Map<string, RegisterRecord<V> | null>()]));
  return new Promise((resolve) => {
    let settled = 0;
    const settle = () => {
      settled++;
      const done = [...answers.values()].every((round) => decisive(round, context.majority));
      if (settled === context.replicas.length || done) resolve(answers);
    };
    for (const replica of context.replicas) {
      context.withTimeout(readFromReplica<V>(replica, keys)).then((records) => {
        for (const key of keys) answers.get(key)!.set(replica.region, records.get(key) ?? null);
        settle();
      }, settle);
    }
  });
}

/**
 * One write round for many records: each replica gets all of them at once. Resolves once every key has a
 * majority of acks or can no longer reach one, else once every replica answered or failed.
 */
export function batchWriteRound<V>(
  context: BatchRoundContext,
  items: ReadonlyArray<ReplicaWrite<V>>,
): Promise<KeyWriteOutcome[]> {
  const { replicas, majority } = context;
  const tally = items.map(() => ({ acks: 0, rejected: 0, failed: 0 }));
  const finished = (t: (typeof tally)[number]) =>
    t.acks >= majority || t.rejected + t.failed > replicas.length - majority;
  return new Promise((resolve) => {
    let settled = 0;
    const settle = () => {
      settled++;
      if (settled === replicas.length || tally.every(finished))
        resolve(tally.map(({ acks, rejected }) => ({ acks, rejected })));
    };
    for (const replica of replicas) {
      context.withTimeout(writeToReplica(replica, items)).then(
        (outcomes) => {
          outcomes.forEach((outcome, i) => {
            if (outcome === 'stored') tally[i]!.acks++;
            else if (outcome === 'refused') tally[i]!.rejected++;
            else tally[i]!.failed++;
          });
          settle();
        },
        () => {
          for (const t of tally) t.failed++;
          settle();
        },
      );
    }
  });
}

/** The answers of a scan round: per key found, per replica that answered, its record or null. */
export interface ScanRound<V> {
  readonly answered: number;
  readonly rounds: Map<string, Map<string, RegisterRecord<V> | null>>;
}

/**
 * One read round over the keys beginning with `prefix`, not known in advance: every replica scans them.
 * A key a replica answered without is its null answer, as a read of that key there would have found
 * nothing. Resolves once a majority answered and every key found is decisive among their answers, else
 * once every replica answered or failed; undefined when a replica cannot scan.
 */
export function batchScanRound<V>(
  context: BatchRoundContext,
  prefix: string,
): Promise<ScanRound<V> | undefined> {
  const { replicas, majority } = context;
  if (replicas.some((r) => !r.scan)) return Promise.resolve(undefined);
  const scans = new Map<string, ReadonlyMap<string, RegisterRecord<V>>>();
  const collect = (): ScanRound<V> => {
    const rounds = new Map<string, Map<string, RegisterRecord<V> | null>>();
    for (const records of scans.values()) for (const key of records.keys()) rounds.set(key, new Map());
    for (const [key, answers] of rounds)
      for (const [region, records] of scans) answers.set(region, records.get(key) ?? null);
    return { answered: scans.size, rounds };
  };
  return new Promise((resolve) => {
    let settled = 0;
    const settle = () => {
      settled++;
      if (settled === replicas.length) return resolve(collect());
      if (scans.size < majority) return;
      const round = collect();
      if ([...round.rounds.values()].every((answers) => decisive(answers, majority))) resolve(round);
    };
    for (const replica of replicas) {
      context.withTimeout(replica.scan!<V>(prefix)).then((records) => {
        scans.set(replica.region, records);
        settle();
      }, settle);
    }
  });
}
