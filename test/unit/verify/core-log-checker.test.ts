import { describe, expect, it } from 'vitest';
import { checkCoreLogs, checkFencing } from '../../../lib/verify/index.ts';
import { accountEvent, snapshot } from './ops.ts';

const log = () => [
  accountEvent(1, 'AccountOpened', 0),
  accountEvent(2, 'Deposited', 10),
  accountEvent(3, 'Deposited', 4),
];
const kinds = (regions: Parameters<typeof checkCoreLogs>[0]) =>
  checkCoreLogs(regions).anomalies.map((a) => (a.region ? `${a.kind}@${a.region}` : a.kind));

const both = (regions: Parameters<typeof checkCoreLogs>[0]) =>
  [...checkCoreLogs(regions).anomalies, ...checkFencing(regions).anomalies].map(
    (a) => `${a.checker}/${a.kind}${a.region ? `@${a.region}` : ''}`,
  );

describe('region-by-region comparison of core logs (checkCoreLogs, checkFencing)', () => {
  it('passes the same chained log in every region', () => {
    const result = checkCoreLogs(['a', 'b', 'c'].map((r) => snapshot(r, log())));
    expect(result.anomalies).toEqual([]);
    expect(result).toMatchObject({ aggregates: 1, events: 3 });
  });

  it('finds a fork: the same seq holds a different event in two regions', () => {
    const forked = [...log().slice(0, 2), accountEvent(3, 'Deposited', 1, { eventId: 'x3', hlc: 'hx3' })];
    const regions = [snapshot('a', log()), snapshot('b', forked)];
    expect(checkCoreLogs(regions).anomalies).toEqual([]);
    const found = checkFencing(regions).anomalies;
    expect(found.map((a) => a.kind)).toEqual(['forked-log']);
    expect(found[0]?.message).toContain('seq 3');
    expect(found[0]?.message).toContain('x3 in b');
  });

  it("finds a join: a third region folds the new home's next event on top of the old home's branch", () => {
    // Old home A wrote X at seq 3 (it reached C, not B); new home B wrote Y at 3 and Y' at 4 (after Y).
    const x = accountEvent(3, 'Deposited', 4, { eventId: 'X', hlc: 'hX' });
    const y = accountEvent(3, 'Deposited', 7, { eventId: 'Y', hlc: 'hY', origin: 'b', epoch: 2 });
    const y2 = accountEvent(4, 'Deposited', 8, {
      eventId: 'Y2',
      hlc: 'hY2',
      prev: 'hY',
      origin: 'b',
      epoch: 2,
    });
    const regions = [
      snapshot('b', [...log().slice(0, 2), y, y2]),
      snapshot('c', [...log().slice(0, 2), x, y2]),
    ];
    expect(both(regions)).toEqual(['core-log/joined-log@c', 'fencing/forked-log']);
  });

  it('finds a gap in one log and a region that did not converge', () => {
    const gap = log().filter((e) => e.seq !== 2);
    expect(kinds([snapshot('a', log()), snapshot('b', gap)])).toEqual([
      'log-gap@b',
      'joined-log@b',
      'not-converged',
    ]);
    expect(kinds([snapshot('a', log()), snapshot('b', [])])).toEqual(['not-converged']);
  });
});
