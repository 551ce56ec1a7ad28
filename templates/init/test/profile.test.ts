import { PayloadValidationError } from 'multiactive';
import { decider } from 'multiactive/testing';
import { describe, it } from 'vitest';
import { profile } from '../src/profile.ts';

const { given } = decider(profile);

describe('profile (important)', () => {
  it('sets a display name', () => {
    given([])
      .when({ type: 'SetDisplayName', payload: { displayName: 'Ada' } })
      .then([{ type: 'DisplayNameSet', payload: { displayName: 'Ada' } }]);
  });

  it('decides nothing when the name does not change', () => {
    given([{ type: 'DisplayNameSet', payload: { displayName: 'Ada' } }])
      .when({ type: 'SetDisplayName', payload: { displayName: 'Ada' } })
      .then([]);
  });

  it('refuses an e-mail address that is not one (the API answers 400)', () => {
    given([])
      .when({ type: 'SetEmail', payload: { email: 'not an address' } })
      .then(PayloadValidationError);
  });

  it('keeps the last value of each field', () => {
    given([
      { type: 'DisplayNameSet', payload: { displayName: 'Ada' } },
      { type: 'EmailSet', payload: { email: 'ada@example.com' } },
    ])
      .when({ type: 'SetDisplayName', payload: { displayName: 'Ada L.' } })
      .thenState({ displayName: 'Ada L.', email: 'ada@example.com' });
  });
});
