import { z } from 'zod';
import { defineAggregate } from '../../lib/model/index.ts';

/** How many recent entries the projection keeps; the full history stays in the event log. */
export const RECENT_ENTRIES = 20;

export interface ActivityState {
  readonly count: number;
  readonly recent: ReadonlyArray<{ kind: string; message: string }>;
}

const entry = z.strictObject({ kind: z.string().min(1).max(64), message: z.string().max(1_000) });

/** Activity: ordinary tier, append-only entries (logs, stats); no conflicts by construction. */
export const activity = defineAggregate<ActivityState>({
  name: 'activity',
  tier: 'ordinary',
  commands: { AppendEntry: entry },
  events: { EntryAppended: { version: 1, schema: entry } },
  initialState: () => ({ count: 0, recent: [] }),
  decide(command) {
    return command.type === 'AppendEntry' ? [{ type: 'EntryAppended', payload: command.payload }] : [];
  },
  evolve(state, event) {
    if (event.type !== 'EntryAppended') return state;
    const next = entry.parse(event.payload);
    return { count: state.count + 1, recent: [...state.recent, next].slice(-RECENT_ENTRIES) };
  },
});
