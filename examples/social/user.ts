import { z } from 'zod';
import { type DomainEvent, defineAggregate } from '../../lib/model/index.ts';

export interface UserState {
  readonly handle: string | null;
  /** Where the user lives (ISO 3166 alpha-2): their clients reach the nearest region, which homes their data. */
  readonly country: string | null;
  readonly bio: string | null;
}

const profile = z.strictObject({
  handle: z.string().min(1).max(40),
  country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code, e.g. FR'),
});

function evolveUser(state: UserState, event: DomainEvent): UserState {
  switch (event.type) {
    case 'UserRegistered': {
      const { handle, country } = profile.parse(event.payload);
      return { ...state, handle, country };
    }
    case 'BioSet':
      return { ...state, bio: String(event.payload.bio) };
    default:
      return state;
  }
}

/**
 * A user of the social app: important tier (用户资料), writable in any region; a user's own clients reach
 * the region nearest to their country. Each event sets whole fields, so the HLC-ordered fold is
 * last-writer-wins per field.
 */
export const user = defineAggregate<UserState>({
  name: 'user',
  tier: 'important',
  commands: { Register: profile, SetBio: z.strictObject({ bio: z.string().max(280) }) },
  events: {
    UserRegistered: { version: 1, schema: profile },
    BioSet: { version: 1, schema: z.strictObject({ bio: z.string() }) },
  },
  initialState: () => ({ handle: null, country: null, bio: null }),
  decide(command) {
    switch (command.type) {
      case 'Register':
        return [{ type: 'UserRegistered', payload: command.payload }];
      case 'SetBio':
        return [{ type: 'BioSet', payload: command.payload }];
      default:
        return [];
    }
  },
  evolve: evolveUser,
  conflict: { policy: 'lww' },
});
