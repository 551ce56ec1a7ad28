import { z } from 'zod';
import { defineSaga } from '../../lib/sagas/index.ts';

const accountId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^#/]+$/, 'must not contain "#" or "/"');

/** `POST /v1/transfers` body (besides `idempotencyKey`): integer minor units, between two accounts. */
export const transferInput = z
  .strictObject({
    from: accountId,
    to: accountId,
    amount: z.number().int('must be an integer (minor units)').positive().max(1_000_000_000_00),
  })
  .refine((t) => t.from !== t.to, { path: ['to'], message: 'cannot transfer to the same account' });

export type TransferInput = z.infer<typeof transferInput>;

/**
 * A transfer between two accounts, possibly homed in different regions, as a Try-Confirm-Cancel saga:
 * Try places a hold on the source at its home (available balance drops, balance does not); Confirm
 * settles the hold (the debit) and then credits the target at its home; Cancel releases the hold. The
 * transfer is co-located with its source account: same partition, so same home and epoch.
 */
export const transfer = defineSaga<TransferInput>({
  name: 'transfer',
  route: 'transfers',
  idField: 'transferId',
  idPrefix: 'tr-',
  input: transferInput,
  colocateWith: 'source',
  participants: [
    {
      name: 'source',
      aggregateType: 'account',
      aggregateId: (t) => t.from,
      try: (t, c) => ({
        type: 'PlaceHold',
        payload: { transferId: c.sagaId, amount: t.amount, expiresAt: c.expiresAt, at: c.at },
      }),
      confirm: (_t, c) => ({ type: 'SettleHold', payload: { transferId: c.sagaId, at: c.at } }),
      cancel: (_t, c) => ({ type: 'ReleaseHold', payload: { transferId: c.sagaId, at: c.at } }),
    },
    {
      name: 'target',
      aggregateType: 'account',
      aggregateId: (t) => t.to,
      confirm: (t, c) => ({
        type: 'CreditTransfer',
        payload: { transferId: c.sagaId, amount: t.amount, from: t.from, at: c.at },
      }),
    },
  ],
});
