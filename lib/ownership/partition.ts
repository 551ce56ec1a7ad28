/**
 * Maps a key (a user or aggregate id) to one of `partitions` logical partitions with 32-bit FNV-1a over
 * the key's UTF-8 bytes. The hash is part of the data format: changing it would re-home every user.
 * @example partitionOf('alice', 256) // always the same number in 0..255, in every region and release
 */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
