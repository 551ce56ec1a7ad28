import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transfer } from '../../../examples/bank/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { sagaIdFor } from '../../../lib/sagas/index.ts';

const account = fc.stringMatching(/^[a-z0-9-]{1,30}$/);

describe('saga ids', () => {
  it('put a transfer in its source account partition, so both share one home', () => {
    fc.assert(
      fc.property(
        account,
        account,
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 7, 256, 4096),
        (from, to, key, partitions) => {
          const id = sagaIdFor(transfer, { from, to, amount: 1 }, key, partitions);
          expect(partitionOf(id, partitions)).toBe(partitionOf(from, partitions));
          expect(id).toMatch(/^tr-[0-9a-f]{24}-[0-9a-z]+$/);
        },
      ),
    );
  });

  it('name the same saga for the same key and source in every region, another for another key', () => {
    const input = { from: 'alice', to: 'bob', amount: 5 };
    expect(sagaIdFor(transfer, input, 'k1', 256)).toBe(
      sagaIdFor(transfer, { ...input, amount: 9 }, 'k1', 256),
    );
    expect(sagaIdFor(transfer, input, 'k1', 256)).not.toBe(sagaIdFor(transfer, input, 'k2', 256));
  });
});
