import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDifference, logDifference } from '../../../bench/round-trip.ts';
import { accountLog } from '../../support/core-history.ts';

const log = accountLog(
  Array.from({ length: 9 }, (_, i) => ({ type: 'Deposited' as const, amount: i + 1 })),
  { aggregateId: 'rt-1' },
);
const none = { lost: 0, changed: 0, extra: 0 };

describe('logDifference (the archive bench round-trip check)', () => {
  it('finds nothing between a log and a copy of it, whatever order its keys come in', () => {
    const copy: typeof log = log.map((e) => JSON.parse(JSON.stringify(e)));
    const reordered = copy.map(
      (e) => Object.fromEntries(Object.entries(e).reverse()) as (typeof log)[number],
    );
    expect(logDifference(log, copy)).toEqual(none);
    expect(logDifference(log, reordered)).toEqual(none);
    expect(logDifference([], [])).toEqual(none);
  });

  it('counts a lost, a changed, a moved and an extra event', () => {
    expect(logDifference(log, log.slice(1))).toEqual({ lost: 1, changed: 9, extra: 0 });
    expect(logDifference(log, log.slice(0, -1))).toEqual({ lost: 1, changed: 0, extra: 0 });
    const edited = log.map((e, i) => (i === 4 ? { ...e, payload: { amount: 999 } } : e));
    expect(logDifference(log, edited)).toEqual({ lost: 0, changed: 1, extra: 0 });
    const stub = log.map((e, i) => (i === 2 ? { ...e, payload: undefined, archived: true } : e));
    expect(logDifference(log, stub as typeof log)).toEqual({ lost: 0, changed: 1, extra: 0 });
    const swapped = [log[1]!, log[0]!, ...log.slice(2)];
    expect(logDifference(log, swapped)).toEqual({ lost: 0, changed: 2, extra: 0 });
    expect(logDifference(log, [...log, log[3]!])).toEqual({ lost: 0, changed: 0, extra: 1 });
    const other = accountLog([], { aggregateId: 'rt-2' });
    expect(logDifference(log, [...log, ...other])).toEqual({ lost: 0, changed: 0, extra: 1 });
    expect(addDifference({ lost: 1, changed: 2, extra: 3 }, { lost: 4, changed: 5, extra: 6 })).toEqual({
      lost: 5,
      changed: 7,
      extra: 9,
    });
  });

  it('is all zero only for the identical log: any drop, edit or swap shows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: log.length - 1 }),
        fc.integer({ min: 0, max: log.length - 1 }),
        fc.constantFrom('drop', 'edit', 'swap', 'none'),
        (i, j, how) => {
          const restored = [...log];
          if (how === 'drop') restored.splice(i, 1);
          if (how === 'edit') restored[i] = { ...log[i]!, hlc: `${log[i]!.hlc}x` };
          if (how === 'swap') [restored[i], restored[j]] = [log[j]!, log[i]!];
          const d = logDifference(log, restored);
          const same = how === 'none' || (how === 'swap' && i === j);
          expect(d.lost + d.changed + d.extra === 0).toBe(same);
        },
      ),
    );
  });
});
