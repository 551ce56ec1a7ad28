import { defineAggregate, z } from 'multiactive';

/**
 * A user profile: `important` tier (the seed's 用户资料). Writable in every region; two regions that change
 * the same profile at the same time produce concurrent events, which the platform detects and resolves by
 * the conflict policy. Each event sets one field, so last-writer-wins (`lww`, by hybrid logical clock)
 * keeps the newest value of each field.
 */
export interface ProfileState {
  readonly displayName: string | null;
  readonly email: string | null;
}

const displayName = z.strictObject({ displayName: z.string().min(1).max(100) });
const email = z.strictObject({ email: z.email() });

export const profile = defineAggregate<ProfileState>({
  name: 'profile',
  tier: 'important',
  commands: { SetDisplayName: displayName, SetEmail: email },
  events: {
    DisplayNameSet: { version: 1, schema: displayName },
    EmailSet: { version: 1, schema: email },
  },
  initialState: () => ({ displayName: null, email: null }),
  decide(command, state) {
    switch (command.type) {
      case 'SetDisplayName': {
        const next = displayName.parse(command.payload).displayName;
        // Setting the value it already has decides nothing: no event, no replication, no conflict.
        return next === state.displayName ? [] : [{ type: 'DisplayNameSet', payload: command.payload }];
      }
      case 'SetEmail':
        return [{ type: 'EmailSet', payload: command.payload }];
      default:
        return [];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'DisplayNameSet':
        return { ...state, displayName: displayName.parse(event.payload).displayName };
      case 'EmailSet':
        return { ...state, email: email.parse(event.payload).email };
      default:
        return state;
    }
  },
  conflict: { policy: 'lww' },
});
