import { describe, expect, it } from 'vitest';
import { runChaos } from '../../lib/sandbox/chaos/index.ts';

describe('the chaos run catches a transfer Confirm that is not idempotent', () => {
  it('reports a double credit and money not conserved when a duplicated Confirm credits again', async () => {
    // Every Saga task delivered twice at once: each Confirm's credit is sent twice, and only the
    // account's idempotency by transfer id keeps the second from crediting again.
    // Few other clients: the run is about transfers, and on a loaded machine 15 clients per region would
    // leave the transfer clients too little of it to confirm any transfer in 20 s.
    const report = await runChaos({
      seconds: 20,
      seed: 3,
      clientsPerRegion: 1,
      accounts: 3,
      bugs: ['non-idempotent-confirm'],
      sagaTaskDuplication: 1,
    });
    expect(report.bugs).toEqual(['non-idempotent-confirm']);
    expect(report.figures.find((f) => f.figure === 'transfers confirmed')?.value).toBeGreaterThan(0);
    expect(report.passed).toBe(false);
    const kinds = new Set(report.anomalies.map((a) => `${a.checker}/${a.kind}`));
    expect(kinds).toContain('transfers/double-credit');
    expect(kinds).toContain('transfers/money-not-conserved');
    expect(report.figures.find((f) => f.figure === 'money conservation anomalies')?.met).toBe(false);
  }, 600_000);
});
