import { describe, expect, it } from 'vitest';
import { type ReplicationStatus, sharedStatus } from '../../../lib/replication/index.ts';

const answer = (n: number): ReplicationStatus => ({
  region: 'us-east-1',
  origins: [],
  quarantined: n,
  openConflicts: 0,
  at: new Date(0).toISOString(),
});

describe("/health's replication status, shared by the calls of one window", () => {
  it('reads once for every call within the window, again after it', async () => {
    let now = 0;
    let reads = 0;
    const status = sharedStatus(async () => answer(++reads), 1_000, () => now);
    const first = await Promise.all([status(), status(), status()]);
    now = 999;
    const sameWindow = await status();
    now = 1_000;
    const next = await status();
    expect(first.map((s) => s.quarantined)).toEqual([1, 1, 1]);
    expect(sameWindow.quarantined).toBe(1);
    expect(next.quarantined).toBe(2);
    expect(reads).toBe(2);
  });

  it('does not keep a failed read: the next call reads again', async () => {
    let reads = 0;
    const status = sharedStatus(
      async () => {
        reads++;
        if (reads === 1) throw new Error('throttled');
        return answer(reads);
      },
      1_000,
      () => 0,
    );
    await expect(status()).rejects.toThrow('throttled');
    await Promise.resolve();
    expect((await status()).quarantined).toBe(2);
  });
});
