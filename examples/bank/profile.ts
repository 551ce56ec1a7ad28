import { z } from 'zod';
import { type DomainEvent, defineAggregate } from '../../lib/model/index.ts';

export interface ProfileState {
  readonly displayName: string | null;
  readonly email: string | null;
  readonly preferences: readonly string[];
}

const preferences = z.strictObject({ preferences: z.array(z.string().min(1).max(64)).max(100) });

/** v1 of DisplayNameSet called the field `name`; v2 renamed it `displayName`. */
function displayNameV1toV2(payload: Record<string, unknown>): Record<string, unknown> {
  const { name, ...rest } = payload;
  return { ...rest, displayName: name };
}

function evolveProfile(state: ProfileState, event: DomainEvent): ProfileState {
  switch (event.type) {
    case 'DisplayNameSet':
      return { ...state, displayName: String(event.payload.displayName) };
    case 'EmailSet':
      return { ...state, email: String(event.payload.email) };
    case 'PreferencesSet':
      return { ...state, preferences: [...new Set(preferences.parse(event.payload).preferences)].sort() };
    default:
      return state;
  }
}

/**
 * Profile: important tier, writable in any region. Each event sets one field, so folding in HLC order is
 * last-writer-wins per field. Under policy `rule`, concurrent preference sets are merged as a set union.
 */
export const profile = defineAggregate<ProfileState>({
  name: 'profile',
  tier: 'important',
  commands: {
    SetDisplayName: z.strictObject({ displayName: z.string().min(1).max(100) }),
    SetEmail: z.strictObject({ email: z.email() }),
    SetPreferences: preferences,
  },
  events: {
    DisplayNameSet: {
      version: 2,
      schema: z.strictObject({ displayName: z.string() }),
      upcasters: { 1: displayNameV1toV2 },
    },
    EmailSet: { version: 1, schema: z.strictObject({ email: z.string() }) },
    PreferencesSet: { version: 1, schema: preferences },
  },
  initialState: () => ({ displayName: null, email: null, preferences: [] }),
  decide(command) {
    switch (command.type) {
      case 'SetDisplayName':
        return [{ type: 'DisplayNameSet', payload: command.payload }];
      case 'SetEmail':
        return [{ type: 'EmailSet', payload: command.payload }];
      case 'SetPreferences':
        return [{ type: 'PreferencesSet', payload: command.payload }];
      default:
        return [];
    }
  },
  evolve: evolveProfile,
  conflict: {
    policy: 'lww',
    merge(state, event) {
      if (event.type !== 'PreferencesSet') return evolveProfile(state, event);
      const union = new Set([...state.preferences, ...preferences.parse(event.payload).preferences]);
      return { ...state, preferences: [...union].sort() };
    },
  },
});
