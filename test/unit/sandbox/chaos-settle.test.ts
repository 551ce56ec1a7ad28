import { describe, expect, it } from 'vitest';
import { settle } from '../../../lib/sandbox/chaos/settle.ts';
import { StreamPollerError } from '../../../lib/sandbox/streams/errors.ts';

describe('chaos settle (quiesce before the checkers)', () => {
  it('goes on to the checkers, with a log line, when the streams do not drain in time', async () => {
    const lines: string[] = [];
    const slow = {
      quiesce: async () => {
        throw new StreamPollerError('Stream not caught up within 1000 ms');
      },
    };
    await expect(settle(slow, 30_000, (l) => lines.push(l))).resolves.toBeUndefined();
    expect(lines).toEqual([
      'not quiet within 30000 ms (Stream not caught up within 1000 ms); checking anyway',
    ]);
  });

  it('does not swallow any other error', async () => {
    const broken = {
      quiesce: async () => {
        throw new TypeError('bug');
      },
    };
    await expect(settle(broken, 1_000, () => {})).rejects.toThrow(TypeError);
  });
});
