import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instancePool } from '../../../lib/sandbox/platform/instances.ts';

/** An invocation that waits until released, so a test decides what runs at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('instancePool (Lambda execution environments in the sandbox)', () => {
  it('runs concurrent invocations on separate instances and reuses an idle one after', async () => {
    let made = 0;
    const pool = instancePool(() => ({ id: ++made, busy: false }));
    const first = gate();
    const second = gate();
    const seen: number[] = [];
    const run = (g: ReturnType<typeof gate>) =>
      pool.run(async (instance) => {
        expect(instance.busy).toBe(false);
        instance.busy = true;
        seen.push(instance.id);
        await g.opened;
        instance.busy = false;
        return instance.id;
      });
    const a = run(first);
    const b = run(second);
    await Promise.resolve();
    expect(seen).toEqual([1, 2]);
    first.open();
    second.open();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
    // Warm: the next invocation takes an idle instance, no new start.
    expect(await pool.run(async (instance) => instance.id)).toBeLessThanOrEqual(2);
    expect(pool.started).toBe(2);
  });

  it('keeps an instance after a failed invocation (an error is not a crash of the environment)', async () => {
    const pool = instancePool(() => ({}));
    await expect(
      pool.run(async () => {
        throw new Error('apply failed');
      }),
    ).rejects.toThrow('apply failed');
    await pool.run(async () => undefined);
    expect(pool.started).toBe(1);
  });

  it('never gives one instance two invocations at once, and starts no more instances than the peak concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(3), fc.nat(3)), { minLength: 1, maxLength: 30 }),
        async (calls) => {
          const pool = instancePool(() => ({ running: 0 }));
          let inFlight = 0;
          let peak = 0;
          const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
          await Promise.all(
            calls.map(async ([startAfter, lasts]) => {
              for (let i = 0; i < startAfter; i += 1) await tick();
              // An invocation counts from its call until its answer (its instance is busy till then).
              inFlight += 1;
              peak = Math.max(peak, inFlight);
              await pool.run(async (instance) => {
                instance.running += 1;
                expect(instance.running).toBe(1);
                for (let i = 0; i < lasts; i += 1) await tick();
                instance.running -= 1;
              });
              inFlight -= 1;
            }),
          );
          expect(pool.started).toBe(peak);
        },
      ),
      { numRuns: 100 },
    );
  });
});
