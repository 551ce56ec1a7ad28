import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { functionTimeoutsOf } from '../../../lib/sandbox/cdk/invoke-configs.ts';
import { loadTemplates, PROJECT_ROOT } from '../../../lib/sandbox/cdk/templates.ts';
import { LambdaTimeoutError, withLambdaTimeout } from '../../../lib/sandbox/platform/lambda-timeout.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withLambdaTimeout (a function cut off at its configured timeout)', () => {
  it('answers with the result when the work ends in time', async () => {
    const run = withLambdaTimeout('multiactive-dev-applier', 200, async (x: number) => {
      await sleep(5);
      return x * 2;
    });
    expect(await run(21)).toBe(42);
  });

  it('fails the invocation with Sandbox.Timedout once the timeout is past, and ignores the late outcome', async () => {
    let finished = false;
    const run = withLambdaTimeout('multiactive-dev-applier', 30, async () => {
      await sleep(120);
      finished = true;
      throw new Error('late failure nobody is waiting for');
    });
    const started = Date.now();
    const error = await run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaTimeoutError);
    expect(error).toMatchObject({
      name: 'Sandbox.Timedout',
      message: 'multiactive-dev-applier: Task timed out after 0.03 seconds',
    });
    expect(Date.now() - started).toBeLessThan(110);
    expect(finished).toBe(false);
    // The work goes on and fails later: no unhandled rejection (vitest would report one).
    await sleep(150);
    expect(finished).toBe(true);
  });

  it('leaves a function without a timeout as it is', () => {
    const run = async () => 1;
    expect(withLambdaTimeout('x', undefined, run)).toBe(run);
  });

  it("reads each function's timeout from the synthesized template", async () => {
    const { templates } = await loadTemplates({
      topology: bank.topology('dev'),
      config: BANK_CONFIG,
      stackNames: ['multiactive-dev-eu-west-1'],
      cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
    });
    const timeouts = functionTimeoutsOf(templates['multiactive-dev-eu-west-1']!, {
      region: 'eu-west-1',
      account: '111111111111',
    });
    expect(Object.fromEntries(timeouts)).toMatchObject({
      'multiactive-dev-api': 29_000,
      'multiactive-dev-applier': 60_000,
      'multiactive-dev-publisher': 60_000,
      'multiactive-dev-runbook': 300_000,
      'multiactive-dev-saga': 60_000,
      'multiactive-dev-watchdog': 75_000,
      'multiactive-dev-lag-monitor': 75_000,
    });
  }, 120_000);
});
