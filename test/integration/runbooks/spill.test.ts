import { describe, expect, it } from 'vitest';
import { ResultSpill, SPILL_OVER_BYTES } from '../../../lib/runbooks/spill.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { tableCell } from './runbook-cells.ts';

async function spillIn(region: string) {
  const tables = await freshRegion(region);
  // Only the cell's region and tables are used by the spill.
  return new ResultSpill(tableCell({ region, tables, events: null as never, states: null as never }));
}

describe('runbook results too big for a Step Functions state (control table spill)', () => {
  it('keeps a small result as it is', async () => {
    const spill = await spillIn('eu-west-1');
    const result = { moved: [1, 2, 3], writableFrom: 5 };
    expect(await spill.store(result)).toBe(result);
  });

  it('keeps a stub of a big result (scalars and list lengths) and loads it back byte for byte, across chunks', async () => {
    const spill = await spillIn('eu-west-1');
    // ~1 MB with multi-byte characters: four chunks, cut as bytes.
    const moved = Array.from({ length: 9_000 }, (_, p) => ({
      partition: p,
      home: 'eu-west-1',
      note: 'ü€😀'.repeat(20),
    }));
    const result = { moved, writableFrom: 1_234, confirmed: true, reason: null };
    const stub = await spill.store(result);
    expect(Buffer.byteLength(JSON.stringify(stub))).toBeLessThan(SPILL_OVER_BYTES);
    expect(stub).toMatchObject({ movedCount: 9_000, writableFrom: 1_234, confirmed: true, reason: null });
    expect((stub.$spilled as { chunks: number }).chunks).toBeGreaterThan(1);
    const state = { region: 'us-east-1', bumpEpochs: stub, confirmRegionLost: { confirmed: true } };
    const loaded = await spill.load(state);
    expect(loaded).toEqual({ ...state, bumpEpochs: result });
    expect(state.bumpEpochs).toBe(stub); // the input is not changed
  });

  it('refuses to load a result spilled in another region (the execution moved?) with a clear error', async () => {
    const stub = await (await spillIn('eu-west-1')).store({ big: 'x'.repeat(SPILL_OVER_BYTES) });
    await expect((await spillIn('us-east-1')).load({ fence: stub })).rejects.toThrow(
      /spilled in eu-west-1; this task runs in us-east-1/,
    );
  });
});
