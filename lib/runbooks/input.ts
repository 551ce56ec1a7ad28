import { InvalidRunbookInputError } from './errors.ts';

/** Reads fields of a task's input (the execution state) with typed errors naming the field. */
export class TaskInput {
  constructor(
    readonly runbook: string,
    readonly task: string,
    readonly raw: Record<string, unknown>,
  ) {}

  /** A required string. */
  string(field: string): string {
    const value = this.raw[field];
    if (typeof value !== 'string' || value.length === 0)
      throw new InvalidRunbookInputError(this.runbook, this.task, field, 'a non-empty string is required');
    return value;
  }

  /** An optional list of partition numbers. */
  partitions(field = 'partitions'): number[] | undefined {
    const value = this.raw[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((p) => Number.isInteger(p) && p >= 0))
      throw new InvalidRunbookInputError(this.runbook, this.task, field, 'a list of partition numbers');
    return value as number[];
  }

  /** An optional list of region names. */
  regions(field: string): string[] | undefined {
    const value = this.raw[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((r) => typeof r === 'string'))
      throw new InvalidRunbookInputError(this.runbook, this.task, field, 'a list of region names');
    return value as string[];
  }

  /** An earlier task's result (`$.<key>`), which must be an object. */
  result<T>(key: string): T {
    const value = this.raw[key];
    if (typeof value !== 'object' || value === null)
      throw new InvalidRunbookInputError(
        this.runbook,
        this.task,
        key,
        'the result of an earlier task is missing',
      );
    return value as T;
  }
}

/** Runs `fn` over items, at most `concurrency` at once, keeping the order of results. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
