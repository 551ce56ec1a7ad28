import { describe, expect, it } from 'vitest';
import { dev as bankDev } from '../../../examples/bank/envs/dev.ts';
import { account, activity, profile, transfer } from '../../../examples/bank/index.ts';
import { dev } from '../../../examples/social/envs/dev.ts';
import { post, reactions, socialChaos, socialDemo, user } from '../../../examples/social/index.ts';
import { defineApp } from '../../../lib/app/index.ts';
import { runChaos } from '../../../lib/sandbox/chaos/index.ts';
import { BANK_DEMO, demoWorkloadFor } from '../../../lib/sandbox/demo/clients.ts';
import { NoWorkloadError } from '../../../lib/sandbox/errors.ts';

const social = { name: 'social', aggregates: [user, post, reactions], environments: { dev } };

describe('the workload of the demo and the chaos runner is the application', () => {
  it("takes the application's own demo, else the bank's built-in one for the bank", () => {
    expect(demoWorkloadFor(defineApp({ ...social, demo: socialDemo }))).toBe(socialDemo);
    const bank = defineApp({
      name: 'bank',
      aggregates: [account, profile, activity],
      sagas: [transfer],
      environments: { dev: bankDev },
    });
    expect(demoWorkloadFor(bank)).toBe(BANK_DEMO);
  });

  it('refuses a demo for an application with neither its own workload nor the bank types, saying how to add one', () => {
    expect(() => demoWorkloadFor(defineApp(social))).toThrow(NoWorkloadError);
    expect(() => demoWorkloadFor(defineApp(social))).toThrow(
      /account, profile, activity.*defineApp\(\{ \.\.\., demo \}\)/,
    );
  });

  it('refuses a chaos run for an application without a plug-in or the bank types, before starting a sandbox', async () => {
    await expect(runChaos({ seconds: 1, seed: 1, application: defineApp(social) })).rejects.toThrow(
      /chaos runner has no workload for application "social".*account, profile, transfer.*chaos \}/,
    );
  });

  it('keeps the plug-in an application defines', () => {
    expect(defineApp({ ...social, chaos: socialChaos }).chaos).toBe(socialChaos);
  });
});
