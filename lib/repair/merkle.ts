import { createHash } from 'node:crypto';

/** One leaf of a partition's tree: an event id and the aggregate it belongs to. */
export interface EventLeaf {
  readonly eventId: string;
  readonly aggregateKey: string;
  /** The core seq the event holds in its log (absent for other tiers): where two branches meet. */
  readonly seq?: number;
}

/** A projection row's leaf: the aggregate and a digest of its version, head and state (see rowDigest). */
export interface RowLeaf {
  readonly aggregateKey: string;
  readonly digest: string;
}

/**
 * A Merkle tree over a partition's events and projection rows: leaves are `buckets` buckets (events and
 * rows grouped by a hash of their aggregate, so one aggregate always shares a bucket), each hashed over its
 * sorted event ids and its rows' digests; `levels[0]` holds the bucket hashes, the last level the root.
 */
export interface MerkleTree {
  readonly buckets: number;
  readonly levels: readonly (readonly string[])[];
  readonly counts: readonly number[];
}

const EMPTY = sha256('');

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The bucket of an aggregate (FNV-1a of its key): stable across regions and releases. */
export function bucketOf(aggregateKey: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(aggregateKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

/**
 * Builds the tree of one region's view of a partition. With `rows`, a bucket also covers the digests of
 * its aggregates' projection rows, so a row that diverged from its log makes the bucket differ even when
 * every region holds the same events.
 * @example diffBuckets([buildMerkleTree(eastLeaves, 64), buildMerkleTree(westLeaves, 64)])
 */
export function buildMerkleTree(
  leaves: readonly EventLeaf[],
  buckets = 64,
  rows: readonly RowLeaf[] = [],
): MerkleTree {
  if (!Number.isInteger(buckets) || buckets < 1 || (buckets & (buckets - 1)) !== 0) {
    throw new RangeError(`buckets must be a power of two, got ${buckets}`);
  }
  const ids: string[][] = Array.from({ length: buckets }, () => []);
  const digests: string[][] = Array.from({ length: buckets }, () => []);
  for (const leaf of leaves) ids[bucketOf(leaf.aggregateKey, buckets)]!.push(leaf.eventId);
  for (const row of rows)
    digests[bucketOf(row.aggregateKey, buckets)]!.push(`${row.aggregateKey}=${row.digest}`);
  const bottom = ids.map((list, i) => {
    const rowPart = digests[i]!.length === 0 ? '' : `\nrows\n${[...new Set(digests[i])].sort().join('\n')}`;
    if (list.length === 0 && rowPart === '') return EMPTY;
    return sha256(`${[...new Set(list)].sort().join('\n')}${rowPart}`);
  });
  return { ...treeOfBucketHashes(bottom), counts: ids.map((list) => new Set(list).size) };
}

/**
 * Rebuilds the upper levels from the bucket hashes alone (what a runbook keeps in its execution state
 * between building the trees and diffing them). `counts` are unknown there and left empty.
 */
export function treeOfBucketHashes(bottom: readonly string[]): MerkleTree {
  const levels: string[][] = [[...bottom]];
  while (levels.at(-1)!.length > 1) {
    const below = levels.at(-1)!;
    const above: string[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(sha256(`${below[i]}${below[i + 1]}`));
    levels.push(above);
  }
  return { buckets: bottom.length, levels, counts: [] };
}

/** The root hash: equal roots mean the same set of events (and, with rows, the same projection rows). */
export function rootOf(tree: MerkleTree): string {
  return tree.levels.at(-1)![0]!;
}

/**
 * The buckets whose hashes differ between any of the trees, found by descending from the roots only into
 * subtrees that differ (so equal halves cost nothing).
 */
export function diffBuckets(trees: readonly MerkleTree[]): number[] {
  if (trees.length < 2) return [];
  const buckets = trees[0]!.buckets;
  if (trees.some((t) => t.buckets !== buckets))
    throw new RangeError('trees must have the same number of buckets');
  const top = trees[0]!.levels.length - 1;
  const differing: number[] = [];
  const visit = (level: number, index: number): void => {
    const hashes = new Set(trees.map((t) => t.levels[level]![index]));
    if (hashes.size === 1) return;
    if (level === 0) {
      differing.push(index);
      return;
    }
    visit(level - 1, index * 2);
    visit(level - 1, index * 2 + 1);
  };
  visit(top, 0);
  return differing;
}
