import { UsageError } from './errors.ts';
import type { Runbook } from './ports.ts';

/** What an operator asks of a runbook (CLI flags, console form). */
export interface RunbookOptions {
  /** Failover: the lost region; Failback: the returning one. */
  readonly region?: string | undefined;
  /** Where the state machine runs (default: see each runbook). */
  readonly in?: string | undefined;
  readonly partitions?: readonly number[] | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly peers?: readonly string[] | undefined;
  readonly switchBack?: boolean | undefined;
  readonly reason?: string | undefined;
}

/** A runbook ready to start: the machine's region and the execution input. */
export interface RunbookRequest {
  readonly runbook: Runbook;
  readonly region: string;
  readonly input: Record<string, unknown>;
}

function known(region: string | undefined, regions: readonly string[], what: string): string {
  if (!region) throw new UsageError(`${what} is required`);
  if (!regions.includes(region))
    throw new UsageError(`unknown region "${region}" for ${what}; the regions are ${regions.join(', ')}`);
  return region;
}

/**
 * The input and region of a runbook execution from the operator's options (pure; shared by the CLI and the
 * console). `regions` are the environment's regions, nearest-first order not assumed: Failover runs in the
 * first other region unless `in` says otherwise; Switchover in the target; Failback in the returning region.
 * @example buildRunbookRequest('Failover', { region: 'us-east-1' }, ['us-east-1', 'eu-west-1'])
 */
export function buildRunbookRequest(
  runbook: Runbook,
  options: RunbookOptions,
  regions: readonly string[],
): RunbookRequest {
  const where = (fallback: string | undefined) => known(options.in ?? fallback, regions, '--in');
  const reason = options.reason ? { reason: options.reason } : {};
  switch (runbook) {
    case 'Switchover': {
      const to = known(options.to, regions, '--to');
      if (!options.partitions?.length && !options.from)
        throw new UsageError('switchover needs --partitions 1,2 or --from REGION');
      if (options.from) known(options.from, regions, '--from');
      const scope = options.partitions?.length
        ? { partitions: [...options.partitions] }
        : { from: options.from };
      return { runbook, region: where(to), input: { ...scope, to, ...reason } };
    }
    case 'Failover': {
      const lost = known(options.region, regions, 'the lost region');
      return {
        runbook,
        region: where(regions.find((r) => r !== lost)),
        input: { region: lost, trigger: 'operator', ...reason },
      };
    }
    case 'Failback': {
      const back = known(options.region, regions, 'the returning region');
      return {
        runbook,
        region: where(back),
        input: { region: back, switchBack: options.switchBack ?? true },
      };
    }
    case 'Repair': {
      for (const peer of options.peers ?? []) known(peer, regions, '--peers');
      return {
        runbook,
        region: where(regions[0]),
        input: {
          ...(options.partitions?.length ? { partitions: [...options.partitions] } : {}),
          ...(options.peers?.length ? { peers: [...options.peers] } : {}),
        },
      };
    }
    case 'ResolveConflict':
      throw new UsageError('ResolveConflict is started by `conflicts resolve`');
  }
}
