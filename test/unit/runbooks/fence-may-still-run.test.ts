import { describe, expect, it } from 'vitest';
import { fenceMayStillRun } from '../../../lib/runbooks/index.ts';

describe("Rollback's wait for a Fence invocation that may outlive its task", () => {
  it('waits the fence budget when the invocation may still be running', () => {
    for (const error of [
      undefined,
      {},
      { Error: '' },
      { Error: 'States.Timeout' },
      { Error: 'States.TaskFailed' },
      { Error: 'Lambda.ServiceException' },
      { Error: 'Lambda.Unknown' },
      { Error: 'Unknown' },
    ])
      expect(fenceMayStillRun(error), JSON.stringify(error)).toBe(true);
  });

  it('does not when the function answered with its own error', () => {
    for (const name of [
      'QuorumUnavailableError',
      'EpochConflictError',
      'FenceDeadlineError',
      'Sandbox.Timedout',
    ])
      expect(fenceMayStillRun({ Error: name, Cause: '{}' }), name).toBe(false);
  });
});
