import { z } from 'zod';

const at = z.number().int().nonnegative();
const participant = z.string().min(1).max(64);

/** Payloads of the saga aggregate's commands. */
export const COMMANDS = {
  BeginSaga: z.strictObject({
    input: z.record(z.string(), z.unknown()),
    expiresAt: at,
    resumeAfterMs: z.number().int().positive(),
    at,
  }),
  RecordTry: z.strictObject({
    participant,
    outcome: z.enum(['ok', 'refused']),
    code: z.string().max(128).optional(),
    message: z.string().max(1_000).optional(),
    at,
  }),
  /** `cancel`: the coordinator's reason to cancel now (e.g. the Try could not be run). */
  Decide: z.strictObject({ at, cancel: z.string().min(1).max(500).optional() }),
  RecordStep: z.strictObject({ phase: z.enum(['confirm', 'cancel']), participant, at }),
};

/** The saga aggregate's events (each carries `at`, the writing coordinator's clock). */
export const EVENTS = {
  SagaBegun: { version: 1, schema: COMMANDS.BeginSaga },
  ParticipantTried: { version: 1, schema: z.strictObject({ participant, at }) },
  ParticipantRefused: {
    version: 1,
    schema: z.strictObject({ participant, code: z.string(), message: z.string(), at }),
  },
  SagaConfirming: { version: 1, schema: z.strictObject({ at }) },
  SagaCancelling: { version: 1, schema: z.strictObject({ reason: z.string(), at }) },
  ParticipantConfirmed: { version: 1, schema: z.strictObject({ participant, at }) },
  ParticipantCancelled: { version: 1, schema: z.strictObject({ participant, at }) },
  SagaConfirmed: { version: 1, schema: z.strictObject({ at }) },
  SagaCancelled: { version: 1, schema: z.strictObject({ at }) },
};
