import { defineAggregate, z } from 'multiactive';

/** How many recent entries the projection keeps; the whole history stays in the event log. */
export const RECENT_ENTRIES = 10;

/**
 * An activity log: `ordinary` tier (the seed's 日志). Append-only, so concurrent writes never conflict;
 * replicated in batches at the lowest priority, and what had not left a lost region may be lost with it.
 */
export interface ActivityState {
  readonly count: number;
  readonly recent: ReadonlyArray<{ readonly kind: string; readonly message: string }>;
}

const entry = z.strictObject({ kind: z.string().min(1).max(64), message: z.string().max(1_000) });

export const activity = defineAggregate<ActivityState>({
  name: 'activity',
  tier: 'ordinary',
  commands: { Record: entry },
  events: { Recorded: { version: 1, schema: entry } },
  initialState: () => ({ count: 0, recent: [] }),
  decide(command) {
    return command.type === 'Record' ? [{ type: 'Recorded', payload: command.payload }] : [];
  },
  evolve(state, event) {
    if (event.type !== 'Recorded') return state;
    return {
      count: state.count + 1,
      recent: [...state.recent, entry.parse(event.payload)].slice(-RECENT_ENTRIES),
    };
  },
});
