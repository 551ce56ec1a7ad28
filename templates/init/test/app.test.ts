import { describe, expect, it } from 'vitest';
import app from '../multiactive.config.ts';

describe('multiactive.config.ts', () => {
  it('declares every aggregate type with the same tier in code and in each environment', () => {
    for (const env of Object.keys(app.environments)) {
      const tiers = Object.fromEntries(app.topology(env).aggregates.map((a) => [a.type, a.tier]));
      expect(tiers).toEqual({ wallet: 'core', profile: 'important', activity: 'ordinary' });
    }
  });
});
