import { z } from 'zod';
import { isEncodedHlc } from '../clock/hlc.ts';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const encodedHlc = z.string().refine(isEncodedHlc, 'must be an encoded HLC timestamp');

/**
 * The event envelope (DESIGN.md section 2). `vv` is the aggregate's version vector as the writer saw it
 * plus this event: it carries causality so concurrency is a function of two events alone.
 */
export const eventEnvelopeSchema = z.strictObject({
  eventId: z.string().regex(ULID, 'must be a ULID'),
  aggregateType: z.string().min(1).max(64),
  aggregateId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^#]+$/, 'must not contain "#"'),
  partition: z.number().int().nonnegative(),
  seq: z.number().int().positive(),
  type: z.string().min(1).max(128),
  schemaVersion: z.number().int().positive(),
  payload: z.record(z.string(), z.unknown()),
  origin: z.string().min(1),
  hlc: encodedHlc,
  epoch: z.number().int().nonnegative(),
  prev: encodedHlc.nullable(),
  vv: z.record(z.string(), z.number().int().nonnegative()),
  correlationId: z.string().min(1),
  causationId: z.string().min(1),
});

/** A validated event envelope. */
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
