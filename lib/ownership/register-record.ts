/**
 * One version of a quorum register's value. `epoch` orders versions; `ballot` (unique per proposal) tells
 * apart two proposals made for the same epoch by concurrent proposers, of which at most one can commit.
 */
export interface RegisterRecord<V> {
  readonly epoch: number;
  readonly ballot: string;
  readonly value: V;
}

/** True when both records are the same proposal. */
export function sameProposal(a: RegisterRecord<unknown>, b: RegisterRecord<unknown>): boolean {
  return a.epoch === b.epoch && a.ballot === b.ballot;
}

/**
 * The one write rule every replica applies atomically (the DynamoDB adapter as a condition expression):
 * store `incoming` over nothing, over a lower epoch, or over the very same proposal (an idempotent retry
 * or write-back), never over another proposal of the same or a higher epoch. So a replica holds at most
 * one value per epoch, ever, and never goes backwards; hence at most one proposal per epoch can ever be
 * stored on a majority.
 * @example replicaAccepts({ epoch: 3, ballot: 'a', value }, { epoch: 4, ballot: 'b', value }) // true
 */
export function replicaAccepts(
  stored: RegisterRecord<unknown> | null,
  incoming: RegisterRecord<unknown>,
): boolean {
  if (stored === null) return true;
  return stored.epoch < incoming.epoch || sameProposal(stored, incoming);
}

/** Responses of one read round: a record (or null for "no entry") per region that answered. */
export type ReadRound<V> = ReadonlyMap<string, RegisterRecord<V> | null>;

/** Proposals found at the highest epoch of a read round, most widely held first (ties: higher ballot). */
export function topCandidates<V>(round: ReadRound<V>): Array<{ record: RegisterRecord<V>; holders: number }> {
  const records = [...round.values()].filter((r): r is RegisterRecord<V> => r !== null);
  if (records.length === 0) return [];
  const top = Math.max(...records.map((r) => r.epoch));
  const byBallot = new Map<string, { record: RegisterRecord<V>; holders: number }>();
  for (const record of records) {
    if (record.epoch !== top) continue;
    const seen = byBallot.get(record.ballot);
    byBallot.set(record.ballot, { record, holders: (seen?.holders ?? 0) + 1 });
  }
  return [...byBallot.values()].sort(
    (a, b) => b.holders - a.holders || (a.record.ballot < b.record.ballot ? 1 : -1),
  );
}

/**
 * A read round is decisive without further writes when a majority of all regions answered the same top
 * proposal: that proposal is committed (stored on a majority) and any later committed proposal would
 * have shown up, because every two majorities intersect.
 */
export function decidedRecord<V>(round: ReadRound<V>, majority: number): RegisterRecord<V> | undefined {
  const [first] = topCandidates(round);
  return first && first.holders >= majority ? first.record : undefined;
}
