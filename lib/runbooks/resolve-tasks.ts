import { HybridLogicalClock } from '../clock/clock.ts';
import { dominates } from '../clock/version-vector.ts';
import { materialize } from '../conflict/materialize.ts';
import { policyFor } from '../conflict/policy.ts';
import { CONFLICT_STATUS } from '../conflict/records.ts';
import { resolveConflict } from '../conflict/resolve.ts';
import { ConflictNotFoundError, InvalidRunbookInputError } from './errors.ts';
import { TaskInput } from './input.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';

/** What an operator decided: keep one branch (`choose` = an eventId, its causal past), or a merged state. */
export type ConflictResolution = { readonly choose: string } | { readonly state: unknown };

/** The aggregate named by `aggregateType` + `aggregateId`, or by `conflictId` = `<type>#<id>`. */
function aggregateOf(task: string, raw: Record<string, unknown>): { type: string; id: string } {
  const input = new TaskInput('resolve-conflict', task, raw);
  if (typeof raw.conflictId === 'string' && raw.aggregateType === undefined) {
    const at = raw.conflictId.indexOf('#');
    if (at <= 0) throw new InvalidRunbookInputError('resolve-conflict', task, 'conflictId', '<type>#<id>');
    return { type: raw.conflictId.slice(0, at), id: raw.conflictId.slice(at + 1) };
  }
  return { type: input.string('aggregateType'), id: input.string('aggregateId') };
}

function resolutionOf(raw: Record<string, unknown>): ConflictResolution {
  const r = raw.resolution as Record<string, unknown> | undefined;
  if (r && typeof r.choose === 'string' && r.choose.length > 0) return { choose: r.choose };
  if (r && 'state' in r && r.state !== undefined) return { state: r.state };
  throw new InvalidRunbookInputError(
    'resolve-conflict',
    'AppendResolution',
    'resolution',
    '{ "choose": "<eventId>" } or { "state": <value> }',
  );
}

/**
 * The ResolveConflict runbook's tasks: LoadConflict (the aggregate's open conflict records in the region
 * the runbook runs in) -> AppendResolution (`resolveConflict`: a `ConflictResolved` event naming every
 * head, replicated like any other, which unfreezes the aggregate everywhere).
 */
export function resolveConflictTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  const here = () => deps.cell(deps.region);
  return {
    async LoadConflict(raw) {
      const { type, id } = aggregateOf('LoadConflict', raw);
      deps.registry.get(type);
      const records = await here().conflicts.listForAggregate(type, id);
      const open = records.filter((r) => r.status === CONFLICT_STATUS.open);
      if (open.length === 0)
        throw new ConflictNotFoundError('LoadConflict', type, id, `no open conflict in ${deps.region}`);
      const heads = [...new Set(open.flatMap((r) => r.eventIds))].sort();
      return { aggregateType: type, aggregateId: id, open, heads };
    },
    async AppendResolution(raw) {
      const { type, id } = aggregateOf('AppendResolution', raw);
      const resolution = resolutionOf(raw);
      const cell = here();
      const aggregate = deps.registry.get(type);
      let state: unknown;
      if ('choose' in resolution) {
        const log = await cell.events.loadStream(type, id);
        const chosen = log.find((e) => e.eventId === resolution.choose);
        if (!chosen)
          throw new InvalidRunbookInputError(
            'resolve-conflict',
            'AppendResolution',
            'resolution.choose',
            `no event ${resolution.choose} in ${type}/${id}`,
          );
        // That branch's state: the fold of the chosen event's causal past (itself included).
        const branch = log.filter((e) => dominates(chosen.vv, e.vv));
        const policy = policyFor(aggregate, deps.topology);
        state = JSON.parse(materialize({ aggregate, aggregateId: id, policy, events: branch }).record.state);
      } else state = resolution.state;
      const event = await resolveConflict(
        {
          registry: deps.registry,
          topology: deps.topology,
          events: cell.events,
          states: cell.states,
          records: cell.conflicts,
          clock: deps.clock ?? new HybridLogicalClock({ region: deps.region }),
          region: deps.region,
          partitions: deps.topology.partitions,
        },
        {
          aggregateType: type,
          aggregateId: id,
          state,
          ...(typeof raw.resolvedBy === 'string' ? { correlationId: `resolved-by:${raw.resolvedBy}` } : {}),
        },
      );
      return { eventId: event.eventId, resolves: (event.payload as { resolves: string[] }).resolves, state };
    },
  };
}
