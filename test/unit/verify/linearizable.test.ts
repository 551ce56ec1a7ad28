import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountModel, checkLinearizable, registerModel } from '../../../lib/verify/index.ts';
import { op } from './ops.ts';

const open = () => op('open', null, [0, 1]);

describe('checkLinearizable (WGL) on the account model', () => {
  it('accepts a sequential history whose reported balances add up', () => {
    const h = [open(), op('deposit', 10, [2, 3], { output: 10 }), op('withdraw', 4, [4, 5], { output: 6 })];
    expect(checkLinearizable(accountModel, h).valid).toBe(true);
  });

  it('accepts concurrent deposits in whichever order explains the balances', () => {
    const h = [open(), op('deposit', 5, [2, 10], { output: 12 }), op('deposit', 7, [3, 9], { output: 7 })];
    expect(checkLinearizable(accountModel, h).valid).toBe(true);
  });

  it('rejects a balance that no order explains (a lost update) and names the op', () => {
    const h = [open(), op('deposit', 5, [2, 3], { output: 5 }), op('deposit', 7, [4, 5], { output: 7 })];
    const result = checkLinearizable(accountModel, h);
    expect(result.valid).toBe(false);
    expect(result.failedOp?.input).toBe(7);
  });

  it('rejects two acknowledged withdrawals that overdraw together (no-overdraw rule)', () => {
    const h = [
      open(),
      op('deposit', 10, [2, 3], { output: 10 }),
      op('withdraw', 8, [4, 10]),
      op('withdraw', 8, [5, 9]),
    ];
    expect(checkLinearizable(accountModel, h).valid).toBe(false);
  });

  it('rejects an InsufficientFunds refusal when the balance was enough throughout its window', () => {
    const h = [
      open(),
      op('deposit', 10, [2, 3], { output: 10 }),
      op('withdraw', 5, [4, 5], { error: 'InsufficientFunds' }),
    ];
    expect(checkLinearizable(accountModel, h).valid).toBe(false);
  });

  it('accepts a refusal that overlaps the deposit making it affordable; ignores non-domain failures', () => {
    const h = [
      open(),
      op('withdraw', 5, [2, 6], { error: 'InsufficientFunds' }),
      op('deposit', 10, [3, 5], { output: 10 }),
      op('deposit', 99, [7, 8], { error: '503 PeerUnavailable' }),
      op('withdraw', 10, [9, 10], { output: 0 }),
    ];
    expect(checkLinearizable(accountModel, h).valid).toBe(true);
  });

  it('lets an indeterminate op take effect or not, but only after its invocation', () => {
    const took = [open(), op('deposit', 5, [2, Infinity]), op('deposit', 1, [3, 4], { output: 6 })];
    const skipped = [open(), op('deposit', 5, [2, Infinity]), op('deposit', 1, [3, 4], { output: 1 })];
    const tooEarly = [open(), op('deposit', 1, [2, 3], { output: 6 }), op('deposit', 5, [4, Infinity])];
    expect(checkLinearizable(accountModel, took).valid).toBe(true);
    expect(checkLinearizable(accountModel, skipped).valid).toBe(true);
    expect(checkLinearizable(accountModel, tooEarly).valid).toBe(false);
  });

  it("answers 'unknown' instead of searching forever past maxExplored", () => {
    const h = [open(), ...Array.from({ length: 14 }, (_, i) => op('deposit', 1 + i, [2, Infinity]))];
    h.push(op('deposit', 1000, [3, 4], { output: -1 }));
    const result = checkLinearizable(accountModel, h, { maxExplored: 500 });
    expect(result.valid).toBe('unknown');
    expect(result.explored).toBeGreaterThan(500);
  });
});

describe('checkLinearizable on the register model', () => {
  it('accepts a read of a concurrent write and rejects a stale read after a completed write', () => {
    const w = (v: string, at: [number, number]) => op('write', v, at, { key: 'profile/p' });
    const r = (v: string | null, at: [number, number]) =>
      op('read', null, at, { output: v, key: 'profile/p' });
    expect(checkLinearizable(registerModel, [w('a', [0, 1]), w('b', [2, 6]), r('a', [3, 4])]).valid).toBe(
      true,
    );
    expect(checkLinearizable(registerModel, [w('a', [0, 1]), w('b', [2, 3]), r('a', [4, 5])]).valid).toBe(
      false,
    );
  });
});

// A sequential run of the account model: ops take effect at times 10, 20, 30, ...; each op reports what
// the model says (balance after, or InsufficientFunds).
const sequentialRun = fc
  .array(fc.record({ withdraw: fc.boolean(), amount: fc.integer({ min: 1, max: 9 }) }), {
    minLength: 1,
    maxLength: 40,
  })
  .map((steps) => {
    let balance = 0;
    return steps.map((s, i) => {
      const at = 10 * (i + 1);
      if (s.withdraw && s.amount > balance)
        return { f: 'withdraw' as const, amount: s.amount, at, refused: true };
      balance += s.withdraw ? -s.amount : s.amount;
      return { f: s.withdraw ? ('withdraw' as const) : ('deposit' as const), amount: s.amount, at, balance };
    });
  });

describe('checkLinearizable properties (fast-check)', () => {
  it('decides every sequential run linearizable, whatever windows overlap its effect points and whichever ops are indeterminate', () => {
    fc.assert(
      fc.property(
        sequentialRun,
        fc.infiniteStream(
          fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 }), fc.boolean()),
        ),
        (run, jitter) => {
          const it = jitter[Symbol.iterator]();
          const h = [
            open(),
            ...run.map((s) => {
              const [before, after, lost] = it.next().value as [number, number, boolean];
              const window: [number, number] = [s.at - before, lost ? Infinity : s.at + after];
              return 'refused' in s
                ? op('withdraw', s.amount, [s.at - before, s.at + after], { error: 'InsufficientFunds' })
                : op(s.f, s.amount, window, { output: s.balance });
            }),
          ];
          expect(checkLinearizable(accountModel, h).valid).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a run whose windows do not overlap once one acknowledged balance is off by one', () => {
    fc.assert(
      fc.property(sequentialRun, fc.nat(), (run, pickOne) => {
        const acked = run.flatMap((s, i) => ('balance' in s ? [i] : []));
        fc.pre(acked.length > 0);
        const wrong = acked[pickOne % acked.length]!;
        const h = [
          open(),
          ...run.map((s, i) =>
            'refused' in s
              ? op('withdraw', s.amount, [s.at, s.at + 5], { error: 'InsufficientFunds' })
              : op(s.f, s.amount, [s.at, s.at + 5], { output: (s.balance ?? 0) + (i === wrong ? 1 : 0) }),
          ),
        ];
        expect(checkLinearizable(accountModel, h).valid).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
