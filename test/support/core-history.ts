import { ulid } from 'ulid';
import { encodeHlc } from '../../lib/clock/index.ts';
import { EPOCH_NO_OP } from '../../lib/commands/epoch-no-op.ts';
import type { EventEnvelope } from '../../lib/model/index.ts';

/** One entry of a generated account history. */
export type AccountOp =
  | { readonly type: 'Deposited' | 'Withdrawn'; readonly amount: number; readonly sameCommand?: boolean }
  | { readonly type: 'EpochNoOp' };

export interface ChainOptions {
  readonly aggregateId?: string;
  readonly origin?: string;
  /** Wall time (ms) of the first event; each next event one ms later. */
  readonly startWall?: number;
  /** The event to chain on (its seq and hlc); none for a history from seq 1. */
  readonly after?: Pick<EventEnvelope, 'seq' | 'hlc'>;
  /** Prefix of the causation ids (a retired branch's commands are other commands). */
  readonly causePrefix?: string;
}

/**
 * A chained core log of the example bank's account (each event's `prev` is the one before), opening the
 * account first unless it continues `after`. Events flagged `sameCommand` share the previous cause.
 */
export function accountLog(ops: readonly AccountOp[], options: ChainOptions = {}): EventEnvelope[] {
  const origin = options.origin ?? 'us-east-1';
  const aggregateId = options.aggregateId ?? 'acc-1';
  const entries: Array<{ type: string; payload: Record<string, unknown>; sameCommand?: boolean }> = [
    ...(options.after ? [] : [{ type: 'AccountOpened', payload: { owner: 'ada', currency: 'EUR' } }]),
    ...ops.map((op) =>
      op.type === 'EpochNoOp'
        ? { type: EPOCH_NO_OP, payload: { epoch: 1 } }
        : { type: op.type, payload: { amount: op.amount }, ...(op.sameCommand ? { sameCommand: true } : {}) },
    ),
  ];
  let seq = options.after?.seq ?? 0;
  let prev = options.after?.hlc ?? null;
  let wall = options.startWall ?? 1_760_000_000_000;
  let cause = 0;
  return entries.map((entry) => {
    const hlc = encodeHlc({ wall: wall++, logical: 0, region: origin });
    if (!entry.sameCommand) cause++;
    const event: EventEnvelope = {
      eventId: ulid(),
      aggregateType: 'account',
      aggregateId,
      partition: 3,
      seq: ++seq,
      type: entry.type,
      schemaVersion: 1,
      payload: entry.payload,
      origin,
      hlc,
      epoch: entry.type === EPOCH_NO_OP ? 1 : 0,
      prev,
      vv: {},
      correlationId: 'corr',
      causationId: `${options.causePrefix ?? 'cmd'}-${cause}`,
    };
    prev = hlc;
    return event;
  });
}
