import { afterEach, describe, expect, it } from 'vitest';
import {
  bugEnabled,
  bugsFromList,
  disableAllBugs,
  enableBugs,
  UnknownBugSwitchError,
  withBug,
} from '../../../lib/faults/index.ts';

afterEach(() => disableAllBugs());

describe('bug switches', () => {
  it('are all off until a test turns one on', () => {
    expect(bugEnabled('blind-rollback')).toBe(false);
    enableBugs(['blind-rollback']);
    expect(bugEnabled('blind-rollback')).toBe(true);
    expect(bugEnabled('unchained-fold')).toBe(false);
  });

  it('refuses an unknown name and lists the known ones', () => {
    expect(() => enableBugs(['no-such-bug'])).toThrow(UnknownBugSwitchError);
    expect(() => enableBugs(['toString'])).toThrow(/known: blind-rollback/);
  });

  it('withBug turns a switch on only for the duration of the call', async () => {
    const inside = await withBug('unchained-fold', async () => bugEnabled('unchained-fold'));
    expect(inside).toBe(true);
    expect(bugEnabled('unchained-fold')).toBe(false);
  });

  it('parses the environment list', () => {
    expect(bugsFromList(' blind-rollback, unchained-fold ,')).toEqual(['blind-rollback', 'unchained-fold']);
    expect(bugsFromList(undefined)).toEqual([]);
  });
});
