import { flag, UsageError } from './cli-args.ts';
import type { ControlRequest } from './control/server.ts';
import { readStateFile } from './control/state-file.ts';

/** Sends a control request to the sandbox that `sandbox up` started; exit code 2 for unknown regions. */
export async function callSandbox(request: ControlRequest): Promise<{ status: number; body: unknown }> {
  const state = readStateFile();
  if (!state) throw new UsageError('no sandbox is up (run `multiactive sandbox up` in another terminal)');
  const regions = Object.keys(state.regions);
  for (const key of ['region', 'a', 'b'] as const) {
    const value = (request as Record<string, unknown>)[key];
    if (typeof value === 'string' && !regions.includes(value))
      throw new UsageError(`unknown region "${value}"; the sandbox runs ${regions.join(', ')}`);
  }
  let response: Response;
  try {
    response = await fetch(state.controlUrl, { method: 'POST', body: JSON.stringify(request) });
  } catch (error) {
    throw new UsageError(
      `the sandbox at ${state.controlUrl} does not answer (${(error as Error).message}); is it still up?`,
    );
  }
  return { status: response.status, body: await response.json() };
}

/** Builds the control request of `chaos ...`. */
export function chaosRequest(args: readonly string[]): ControlRequest {
  const [verb, a, b, c] = args;
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`chaos ${verb} needs ${what}`);
    return value;
  };
  switch (verb) {
    case 'kill-region':
    case 'revive-region':
      return { action: verb, region: need(a, 'a region') };
    case 'partition':
      return { action: 'partition', a: need(a, 'two regions'), b: need(b, 'two regions') };
    case 'latency': {
      const ms = Number(need(c, 'A B MS'));
      if (!(ms >= 0)) throw new UsageError('latency needs a number of ms');
      return { action: 'latency', a: need(a, 'A B MS'), b: need(b, 'A B MS'), ms };
    }
    case 'heal':
      return { action: 'heal' };
    default:
      throw new UsageError(`unknown chaos command "${verb ?? ''}"`);
  }
}

/** Builds the control request of `runbook ...` (the state machine runs in `--in`, default the first peer). */
export function runbookRequest(args: readonly string[], regions: readonly string[]): ControlRequest {
  const [name, target] = args;
  const inRegion = (fallback?: string) => {
    const at = args.indexOf('--in');
    return (at >= 0 ? args[at + 1] : undefined) ?? fallback ?? regions[0] ?? '';
  };
  const peerOf = (region: string) => regions.find((r) => r !== region);
  switch (name) {
    case 'switchover': {
      const at = args.indexOf('--partitions');
      const partitions = (at >= 0 ? (args[at + 1] ?? '') : '').split(',').filter(Boolean).map(Number);
      const toAt = args.indexOf('--to');
      const to = toAt >= 0 ? args[toAt + 1] : undefined;
      if (!to || partitions.length === 0)
        throw new UsageError('runbook switchover needs --partitions 1,2 --to REGION');
      return { action: 'runbook', name: 'Switchover', region: inRegion(to), input: { partitions, to } };
    }
    case 'failover':
    case 'failback': {
      if (!target || target.startsWith('--')) throw new UsageError(`runbook ${name} needs a region`);
      const where = name === 'failover' ? inRegion(peerOf(target)) : inRegion(target);
      const runbook = name === 'failover' ? 'Failover' : 'Failback';
      const input = name === 'failover' ? { region: target, trigger: 'operator' } : { region: target };
      return { action: 'runbook', name: runbook, region: where, input };
    }
    case 'repair':
      return { action: 'runbook', name: 'Repair', region: inRegion(), input: {} };
    default:
      throw new UsageError(`unknown runbook "${name ?? ''}"`);
  }
}

/** Builds the control request of `conflicts list` / `conflicts resolve TYPE ID (--choose EVENTID | --state JSON)`. */
export function conflictsRequest(args: readonly string[]): ControlRequest {
  const [verb, aggregateType, aggregateId] = args;
  if (verb === 'list') return { action: 'conflicts-list' };
  if (verb !== 'resolve') throw new UsageError(`unknown conflicts command "${verb ?? ''}"`);
  if (!aggregateType || !aggregateId || aggregateId.startsWith('--'))
    throw new UsageError('conflicts resolve needs TYPE ID (--choose EVENTID | --state JSON)');
  const choose = flag(args, '--choose');
  const state = flag(args, '--state');
  if ((choose === undefined) === (state === undefined))
    throw new UsageError('conflicts resolve needs exactly one of --choose EVENTID and --state JSON');
  let resolution: { choose: string } | { state: unknown };
  try {
    resolution = choose !== undefined ? { choose } : { state: JSON.parse(state as string) as unknown };
  } catch {
    throw new UsageError('--state must be JSON');
  }
  const region = flag(args, '--in');
  const input = { aggregateType, aggregateId, resolution, resolvedBy: 'cli' };
  return { action: 'conflicts-resolve', ...(region ? { region } : {}), input };
}
