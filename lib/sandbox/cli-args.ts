/** A command line the CLI cannot act on: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `usage:
  multiactive start [--once] [--fast] [--regions N] [--mode redirect|proxy] [--data-dir DIR]   (the demo)
  multiactive sandbox up [--once] [--fast] [--regions N] [--mode redirect|proxy] [--policy P] [--data-dir DIR]
  multiactive sandbox status | down
  multiactive chaos kill-region R | revive-region R | partition A B | latency A B MS | heal
  multiactive runbook switchover --partitions 1,2 --to R [--in R]
  multiactive runbook failover R [--in R] | failback R | repair [--in R]
  multiactive conflicts list | resolve TYPE ID (--choose EVENTID | --state JSON) [--in R]
  multiactive check`;

/** Options of `start` and `sandbox up`. */
export interface UpOptions {
  once: boolean;
  fast: boolean;
  regions: number;
  mode: 'redirect' | 'proxy';
  policy?: 'latency' | 'weighted' | 'round-robin' | 'least-connections';
  dataDir?: string;
}

const POLICIES = ['latency', 'weighted', 'round-robin', 'least-connections'] as const;

function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`${name} is one of ${allowed.join(', ')}`);
  return value as T;
}

function setValue(options: UpOptions, arg: string, value: string): void {
  if (arg === '--regions') options.regions = Number(value);
  else if (arg === '--data-dir') options.dataDir = value;
  else if (arg === '--mode') options.mode = choice('--mode', value, ['redirect', 'proxy'] as const);
  else options.policy = choice('--policy', value, POLICIES);
}

/** Parses the flags of `start` / `sandbox up`. */
export function parseUp(args: readonly string[]): UpOptions {
  const options: UpOptions = { once: false, fast: false, regions: 3, mode: 'redirect' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--once' || arg === '--fast') {
      options[arg === '--once' ? 'once' : 'fast'] = true;
      continue;
    }
    if (!['--regions', '--data-dir', '--mode', '--policy'].includes(arg))
      throw new UsageError(`unknown option "${arg}"`);
    const value = args[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    setValue(options, arg, value);
  }
  if (!Number.isInteger(options.regions) || options.regions < 2 || options.regions > 3)
    throw new UsageError('--regions must be 2 or 3');
  return options;
}

/** The value after `--name`, if present. */
export function flag(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}
