import { afterEach, describe, expect, it } from 'vitest';
import { transfer } from '../../../examples/bank/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import { type DomainEvent, parseCommand } from '../../../lib/model/index.ts';
import {
  IdempotencyKeyReusedError,
  SagaNotReadyError,
  SagaPhaseMismatchError,
  type SagaState,
  sagaDueAt,
} from '../../../lib/sagas/index.ts';

const saga = transfer.aggregate;
const input = { from: 'alice', to: 'bob', amount: 5 };
const begun: DomainEvent = {
  type: 'SagaBegun',
  payload: { input, expiresAt: 10_000, resumeAfterMs: 3_000, at: 1_000 },
};
const tried: DomainEvent = { type: 'ParticipantTried', payload: { participant: 'source', at: 1_100 } };

/** given events, when a command, then the events it decides (or the error it throws). */
function given(history: DomainEvent[]) {
  const state = history.reduce((s, e) => saga.evolve(s, e), saga.initialState());
  return {
    state,
    when: (type: string, payload: Record<string, unknown>, now = Number(payload.at ?? 0)) =>
      saga.decide(parseCommand(saga, { type, payload }), state, { now }),
  };
}

afterEach(() => disableAllBugs());

describe('saga aggregate (transfer)', () => {
  it('begins once: the same input again decides nothing, another input is IdempotencyKeyReused', () => {
    const again = { input, expiresAt: 20_000, resumeAfterMs: 3_000, at: 2_000 };
    expect(given([]).when('BeginSaga', again)).toHaveLength(1);
    expect(given([begun]).when('BeginSaga', again)).toEqual([]);
    expect(() => given([begun]).when('BeginSaga', { ...again, input: { ...input, amount: 6 } })).toThrow(
      IdempotencyKeyReusedError,
    );
  });

  it('decides confirm only once every Try is recorded and before the expiry', () => {
    expect(() => given([begun]).when('Decide', { at: 1_200 })).toThrow(SagaNotReadyError);
    expect(given([begun, tried]).when('Decide', { at: 1_200 })).toEqual([
      { type: 'SagaConfirming', payload: { at: 1_200 } },
    ]);
    expect(given([begun, tried]).when('Decide', { at: 10_000 })).toEqual([
      { type: 'SagaCancelling', payload: { reason: 'expired', at: 10_000 } },
    ]);
  });

  it("cancels a Decide sent before the expiry but decided after it, by the saga home's clock", () => {
    expect(given([begun, tried]).when('Decide', { at: 9_000 }, 10_400)).toEqual([
      { type: 'SagaCancelling', payload: { reason: 'expired', at: 9_000 } },
    ]);
    enableBugs(['hold-expiry-by-sender-clock']);
    expect(given([begun, tried]).when('Decide', { at: 9_000 }, 10_400)).toEqual([
      { type: 'SagaConfirming', payload: { at: 9_000 } },
    ]);
  });

  it('decides once: a second Decide, even asking to cancel, changes nothing', () => {
    const confirming = { type: 'SagaConfirming', payload: { at: 1_200 } };
    expect(given([begun, tried, confirming]).when('Decide', { at: 1_300, cancel: 'try failed' })).toEqual([]);
  });

  it('cancels a refused Try, naming the refusal', () => {
    const refused = {
      type: 'ParticipantRefused',
      payload: { participant: 'source', code: 'InsufficientFunds', message: 'no', at: 1_100 },
    };
    expect(given([begun, refused]).when('Decide', { at: 1_200 })).toEqual([
      { type: 'SagaCancelling', payload: { reason: 'refused by source: InsufficientFunds', at: 1_200 } },
    ]);
  });

  it('ends confirmed when the last participant is confirmed, once', () => {
    const confirming = { type: 'SagaConfirming', payload: { at: 1_200 } };
    const first = given([begun, tried, confirming]).when('RecordStep', {
      phase: 'confirm',
      participant: 'source',
      at: 1_300,
    });
    expect(first.map((e) => e.type)).toEqual(['ParticipantConfirmed']);
    const last = given([begun, tried, confirming, ...first]).when('RecordStep', {
      phase: 'confirm',
      participant: 'target',
      at: 1_400,
    });
    expect(last.map((e) => e.type)).toEqual(['ParticipantConfirmed', 'SagaConfirmed']);
    const done = given([begun, tried, confirming, ...first, ...last]);
    expect(done.state.status).toBe('confirmed');
    expect(done.when('RecordStep', { phase: 'confirm', participant: 'target', at: 1_500 })).toEqual([]);
  });

  it('refuses to record a step of the phase the decision ruled out', () => {
    const cancelling = { type: 'SagaCancelling', payload: { reason: 'expired', at: 1_200 } };
    expect(() =>
      given([begun, cancelling]).when('RecordStep', { phase: 'confirm', participant: 'source', at: 1_300 }),
    ).toThrow(SagaPhaseMismatchError);
  });

  it('is due at its expiry while trying, after resumeAfterMs of silence when decided, never once ended', () => {
    const trying = given([begun]).state as SagaState;
    expect(sagaDueAt(trying)).toBe(4_000);
    expect(sagaDueAt({ ...trying, updatedAt: 9_000 })).toBe(10_000);
    const confirming = given([begun, tried, { type: 'SagaConfirming', payload: { at: 9_500 } }]).state;
    expect(sagaDueAt(confirming)).toBe(12_500);
    expect(sagaDueAt({ ...confirming, status: 'confirmed' })).toBeNull();
    expect(sagaDueAt(saga.initialState())).toBeNull();
  });
});
