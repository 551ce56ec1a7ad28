import type { RegionCell } from './ports.ts';

/**
 * The partitions a repair-like task walks: the ones asked for, else every partition that holds an event in
 * any of the cells (an empty partition everywhere cannot differ), else all configured partitions.
 */
export async function partitionsToCheck(options: {
  readonly asked: number[] | undefined;
  readonly cells: readonly RegionCell[];
  readonly configured: number;
}): Promise<number[]> {
  if (options.asked) return [...new Set(options.asked)].sort((a, b) => a - b);
  const all = () => Array.from({ length: options.configured }, (_, i) => i);
  if (!options.cells.every((cell) => cell.source.activePartitions)) return all();
  const lists = await Promise.all(options.cells.map((cell) => cell.source.activePartitions!()));
  return [...new Set(lists.flat())].filter((p) => p >= 0 && p < options.configured).sort((a, b) => a - b);
}
