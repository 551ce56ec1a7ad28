import { z } from 'zod';
import { defineAggregate } from '../../lib/model/index.ts';

export const REACTION_KINDS = ['like', 'laugh', 'wow'] as const;

export interface ReactionsState {
  /** Reactions per kind: a grow-only counter, folded in any order to the same numbers. */
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
}

const reaction = z.strictObject({ kind: z.enum(REACTION_KINDS), by: z.string().min(1).max(128) });

/**
 * The reactions to one post (keyed by the post's id): ordinary tier (普通), append-only. Every reaction is
 * its own event, so counters commute: any region folds any arrival order to the same counts, and there
 * is nothing to resolve.
 */
export const reactions = defineAggregate<ReactionsState>({
  name: 'reactions',
  tier: 'ordinary',
  commands: { React: reaction },
  events: { Reacted: { version: 1, schema: reaction } },
  initialState: () => ({ counts: {}, total: 0 }),
  decide(command) {
    return command.type === 'React' ? [{ type: 'Reacted', payload: command.payload }] : [];
  },
  evolve(state, event) {
    if (event.type !== 'Reacted') return state;
    const { kind } = reaction.parse(event.payload);
    return { counts: { ...state.counts, [kind]: (state.counts[kind] ?? 0) + 1 }, total: state.total + 1 };
  },
});
