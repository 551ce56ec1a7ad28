import { decider } from 'multiactive/testing';
import { describe, it } from 'vitest';
import { activity, RECENT_ENTRIES } from '../src/activity.ts';

const { given } = decider(activity);
const recorded = (n: number) => ({ type: 'Recorded', payload: { kind: 'click', message: `#${n}` } });

describe('activity (ordinary)', () => {
  it('records an entry', () => {
    given([])
      .when({ type: 'Record', payload: { kind: 'login', message: 'from Lisbon' } })
      .then([{ type: 'Recorded', payload: { kind: 'login', message: 'from Lisbon' } }]);
  });

  it('counts every entry and keeps the recent ones', () => {
    const history = Array.from({ length: RECENT_ENTRIES }, (_, n) => recorded(n));
    given(history)
      .when({ type: 'Record', payload: { kind: 'click', message: `#${RECENT_ENTRIES}` } })
      .thenState({
        count: RECENT_ENTRIES + 1,
        recent: Array.from({ length: RECENT_ENTRIES }, (_, n) => recorded(n + 1).payload),
      });
  });
});
