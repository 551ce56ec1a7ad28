import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Figure } from '../../lib/ops/figures.ts';
import type { DrillReport } from '../../lib/ops/report/index.ts';
import type { SandboxStateFile } from '../../lib/sandbox/control/state-file.ts';
import { expectStatus, type StatusAndBody, untilServed } from '../support/answers.ts';
import { cli, exitWithin, ROOT, runCli } from './cli.ts';

// The web console against a running sandbox, in Debian's Chromium (installed by .ci/run): three healthy
// regions, a region killed through the CLI turns unhealthy and its Failover runs step by step, a manual
// conflict is resolved by clicking. Screenshots go to docs/ for the README.
const SHOTS = join(ROOT, 'docs');
const cwd = mkdtempSync(join(tmpdir(), 'multiactive-console-'));
const stateFile = join(cwd, '.sandbox', 'state.json');
const LOST = 'ap-southeast-1';
let up: ReturnType<typeof cli>;
let state: SandboxStateFile;
let browser: Browser;
let page: Page;
let output = '';

function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it)');
  }
}

/** The API requires auth (dev: a JWT): `sandbox up` leaves a token from its issuer in the state file. */
function authorization(): Record<string, string> {
  if (state.auth?.type !== 'jwt')
    throw new Error('expected a JWT in .sandbox/state.json (dev: api.auth jwt)');
  return { authorization: `Bearer ${state.auth.token}` };
}

/**
 * Sends a command; a 503 (a transient refusal with Retry-After, e.g. a fresh sandbox's first forward outlasting
 * its timeout on a loaded machine) is sent again with the same idempotencyKey, as a client would.
 */
async function write(
  region: string,
  path: string,
  body: { readonly idempotencyKey: string } & Record<string, unknown>,
): Promise<StatusAndBody> {
  return untilServed(async () => {
    const response = await fetch(`${state.regions[region]}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization() },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { message: text };
    }
    return { status: response.status, body: parsed };
  });
}

beforeAll(async () => {
  up = cli(['sandbox', 'up', '--fast', '--conflict-policy', 'profile=manual'], cwd);
  for (const stream of [up.stdout, up.stderr]) stream?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 170_000;
  while (!existsSync(stateFile)) {
    if (Date.now() > deadline || up.exitCode !== null) throw new Error(`sandbox did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  state = JSON.parse(readFileSync(stateFile, 'utf8')) as SandboxStateFile;
  // Let the JVMs warm up before a browser polls too: on a loaded machine the first health checks can
  // time out, and a region the GTM fails over stays drained.
  const healthy = async () => {
    const response = await fetch(state.controlUrl, {
      method: 'POST',
      body: JSON.stringify({ action: 'status' }),
    });
    const status = (await response.json()) as { regions: Array<{ healthy: boolean }> };
    return status.regions.filter((r) => r.healthy).length;
  };
  for (let i = 0; i < 240 && (await healthy()) < 3; i++) await new Promise((r) => setTimeout(r, 500));
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  mkdirSync(SHOTS, { recursive: true });
}, 400_000);

afterAll(async () => {
  await browser?.close();
  if (up && up.exitCode === null) {
    await runCli(['sandbox', 'down'], cwd);
    // `down` returns once the sandbox has stopped: its process exits at once (a bound, not a wait).
    await exitWithin(up, 3_000);
    if (up.exitCode === null) up.kill('SIGTERM');
  }
}, 60_000);

describe('web console in a real browser', () => {
  it('is printed by sandbox up and recorded in .sandbox/state.json', () => {
    expect(state.consoleUrl).toBe(`${state.controlUrl}/`);
    expect(output).toContain(`console:          ${state.consoleUrl}`);
  });

  it('shows three healthy regions, live lag and the partition map', async () => {
    await page.goto(state.consoleUrl!);
    await page.waitForSelector('.region[data-healthy="true"]', { timeout: 90_000 });
    // Traffic so the lag chart and the partition map have something to show.
    for (let i = 0; i < 12; i++) {
      const region = Object.keys(state.regions)[i % 3]!;
      expectStatus(
        await write(region, `/v1/account/console-${i}/commands`, {
          type: 'OpenAccount',
          payload: { owner: `o${i}`, currency: 'EUR' },
          idempotencyKey: `console-${i}-open`,
        }),
        200,
      );
      await write(region, `/v1/activity/console-${i}/commands`, {
        type: 'AppendEntry',
        payload: { kind: 'click', message: 'hi' },
        idempotencyKey: `console-${i}-click`,
      });
    }
    await expect
      .poll(() => page.locator('.region[data-healthy="true"]').count(), { timeout: 60_000 })
      .toBe(3);
    await expect
      .poll(() => page.locator('#partition-map .cell[data-home]:not([data-home=""])').count(), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('#readiness-badge').textContent(), { timeout: 30_000 })
      .toBe('READY for failover');
    await page.waitForTimeout(3_000);
    await page.screenshot({ path: join(SHOTS, 'console-healthy.png'), fullPage: true });
  }, 240_000);

  it('resolves a manual conflict by clicking "Keep this version"', async () => {
    const id = `console-conflict-${Date.now().toString(36)}`;
    expect((await runCli(['chaos', 'partition', 'us-east-1', 'eu-west-1'], cwd)).code).toBe(0);
    expectStatus(
      await write('us-east-1', `/v1/profile/${id}/commands`, {
        type: 'SetDisplayName',
        payload: { displayName: 'Ada (us)' },
        idempotencyKey: `${id}-us`,
      }),
      200,
    );
    expectStatus(
      await write('eu-west-1', `/v1/profile/${id}/commands`, {
        type: 'SetDisplayName',
        payload: { displayName: 'Ada (eu)' },
        idempotencyKey: `${id}-eu`,
      }),
      200,
    );
    expect((await runCli(['chaos', 'heal'], cwd)).code).toBe(0);
    const card = page.locator(`.conflict[data-aggregate="profile/${id}"]`);
    await card.waitFor({ timeout: 60_000 });
    await expect.poll(() => card.locator('.side').count()).toBe(2);
    await page.locator('#conflicts').screenshot({ path: join(SHOTS, 'console-conflict.png') });
    const keep = card.locator('.side', { hasText: 'Ada (eu)' }).locator('button.keep');
    await keep.click();
    await card.waitFor({ state: 'detached', timeout: 60_000 });
    // The resolution is an event like any other: us-east-1 has it once it replicated (seconds on a loaded
    // machine: a CI run on 2026-12-01 read 'Ada (us)' at once).
    const displayName = async () => {
      const read = await fetch(`${state.regions['us-east-1']}/v1/profile/${id}`, {
        headers: authorization(),
      });
      return ((await read.json()) as { state: { displayName: string } }).state.displayName;
    };
    await expect.poll(displayName, { timeout: 30_000 }).toBe('Ada (eu)');
  }, 300_000);

  it('runs a region-loss drill through the CLI and lists its report with the timeline', async () => {
    const drill = await runCli(['drill', 'region-loss', '--region', LOST, '--json'], cwd);
    const json = drill.out.slice(drill.out.indexOf('{\n'));
    const { dir, report } = JSON.parse(json) as { dir: string; report: DrillReport };
    // The same figures, units and targets as the runbooks bench's committed results.
    const bench = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'runbooks.json'), 'utf8')) as {
      figures: Figure[];
    };
    const shape = (figures: readonly Figure[]) => figures.map((f) => [f.figure, f.unit, f.target]);
    // The bench runner adds its IAM tally to every bench that ran a sandbox (bench/run.ts iamFigures).
    const measured = bench.figures.filter(
      (f) => !f.figure.startsWith('AWS calls ') || !f.figure.endsWith('(sandbox)'),
    );
    expect(shape(report.figures)).toEqual(shape(measured));
    for (const file of ['report.md', 'report.json', 'report.html'])
      expect(existsSync(resolve(cwd, dir, file))).toBe(true);
    expect(report.executions.map((e) => e.runbook)).toEqual(
      expect.arrayContaining(['Failover', 'Failback', 'Repair']),
    );
    const row = page.locator('#reports a', { hasText: `Drill: loss of ${LOST}` });
    await row.first().waitFor({ timeout: 30_000 });
    await row.first().click();
    await page.waitForTimeout(1_000);
    await page.locator('#reports').screenshot({ path: join(SHOTS, 'console-drill-report.png') });
    await page.goto(`${state.consoleUrl}reports/${report.id}/report.html`);
    await page.waitForSelector('#timeline');
    await page.screenshot({ path: join(SHOTS, 'drill-report.png'), fullPage: true });
    await page.goto(state.consoleUrl!);
    expect(drill.code).toBe(report.consistency?.passed ? 0 : 1);
  }, 600_000);

  it('sees a region killed through the CLI turn unhealthy and its Failover progress step by step', async () => {
    const seen: string[][] = [];
    expect((await runCli(['chaos', 'kill-region', LOST], cwd)).code).toBe(0);
    await page.locator(`.region[data-region="${LOST}"][data-healthy="false"]`).waitFor({ timeout: 60_000 });
    const failover = page.locator('.execution[data-runbook="Failover"]').first();
    const deadline = Date.now() + 90_000;
    let status = '';
    while (Date.now() < deadline) {
      if ((await failover.count()) > 0) {
        status = (await failover.getAttribute('data-status')) ?? '';
        const steps = await failover
          .locator('.step')
          .evaluateAll((els) =>
            els.map((e) => `${e.getAttribute('data-step')}:${e.className.replace('step ', '')}`),
          );
        if (seen.at(-1)?.join() !== steps.join()) seen.push(steps);
        if (status !== 'RUNNING' && status !== '') break;
      }
      await page.waitForTimeout(150);
    }
    expect(status).toBe('SUCCEEDED');
    const final = seen.at(-1)!.map((s) => s.split(':')[0]);
    expect(final).toEqual([
      'ConfirmRegionLost',
      'ChooseNewHomes',
      'FencePartitions',
      'CollectCopies',
      'BumpEpochs',
      'DrainRegion',
      'RecordWatermarks',
    ]);
    // Every snapshot the browser saw is a prefix of the final order: steps appear one by one, in order.
    for (const snapshot of seen)
      expect(final.slice(0, snapshot.length)).toEqual(snapshot.map((s) => s.split(':')[0]));
    await expect
      .poll(() => page.locator('#readiness-badge').textContent(), { timeout: 30_000 })
      .toBe('NOT READY');
    await expect
      .poll(() => page.locator('tr.check.bad[data-check="health"]').count(), { timeout: 30_000 })
      .toBe(1);
    await page.screenshot({ path: join(SHOTS, 'console-region-lost.png'), fullPage: true });
  }, 300_000);
});
