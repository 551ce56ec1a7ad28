/** Base class of the cost model's errors. */
export class CostError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CostError';
  }
}

/** A price list, quota list or traffic profile that cannot be used, with every problem listed. */
export class CostInputError extends CostError {
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options?: ErrorOptions) {
    super(`${source}: ${problems.join('; ')}`, options);
    this.name = 'CostInputError';
    this.source = source;
    this.problems = problems;
  }
}

/** A price or quota the model needs is in none of the lists given (a region the list does not cover). */
export class MissingPriceError extends CostError {
  readonly region: string;
  readonly keys: readonly string[];

  constructor(kind: 'price' | 'quota', region: string, keys: readonly string[]) {
    super(
      `no ${kind} for ${region}: ${keys.join(', ')} (add the region to a --${kind === 'price' ? 'prices' : 'quotas'} file)`,
    );
    this.name = 'MissingPriceError';
    this.region = region;
    this.keys = keys;
  }
}
