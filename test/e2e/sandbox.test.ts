import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxStateFile } from '../../lib/sandbox/control/state-file.ts';
import { cli, exitWithin, runCli } from './cli.ts';

// One file, so the two sandboxes (3 + 2 DynamoDB Local JVMs) never run at the same time on two cores.
describe('npm start -- --once --fast', () => {
  it('runs the demo on three regions and exits 0 with a passing consistency check and a report', async () => {
    const { code, out } = await runCli(['start', '--once', '--fast']);
    if (code !== 0) console.error(out);
    expect(out).toContain('[1/9]');
    expect(out).toContain('killing ap-southeast-1');
    expect(out).toContain('=== multiactive sandbox report ===');
    expect(out).toMatch(/events written\s+core\s+important\s+ordinary\s+total/);
    expect(out).toMatch(/us-east-1 -> eu-west-1\s+\d+ ms\s+\d+ ms/);
    expect(out).toMatch(/conflicts: detected \d+, resolved \d+, manual \d+/);
    expect(out).toMatch(/failover \(ap-southeast-1 lost\): detection \d+ ms, RTO \d+ ms/);
    expect(out).toMatch(/RPO: events at risk at failover \d+, recovered at failback \d+/);
    expect(out).toContain('consistency check: PASS');
    expect(out).toMatch(/IAM: \d+ calls checked, 0 denied/);
    expect(code).toBe(0);
  }, 480_000);
});

const cwd = mkdtempSync(join(tmpdir(), 'multiactive-e2e-'));
const stateFile = join(cwd, '.sandbox', 'state.json');
// Relative, as a new user would type it; it does not exist yet (DynamoDB Local used to exit on that).
const DATA_DIR = 'data/sandbox';
let state: SandboxStateFile;
let up: ReturnType<typeof cli>;
let output = '';

async function sandboxUp(): Promise<void> {
  output = '';
  up = cli(['sandbox', 'up', '--regions', '2', '--fast', '--data-dir', DATA_DIR], cwd);
  for (const stream of [up.stdout, up.stderr]) {
    stream?.on('data', (c: Buffer) => {
      output += c.toString();
    });
  }
  const deadline = Date.now() + 150_000;
  while (!existsSync(stateFile)) {
    if (Date.now() > deadline || up.exitCode !== null) throw new Error(`sandbox did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  state = JSON.parse(readFileSync(stateFile, 'utf8')) as SandboxStateFile;
}

/** Credentials of the sandbox that is up now (dev: a JWT from its issuer, new at every `sandbox up`). */
function auth(): Record<string, string> {
  return state.auth?.type === 'jwt' ? { authorization: `Bearer ${state.auth.token}` } : {};
}

describe('multiactive sandbox up (two regions, fast, --data-dir)', () => {
  beforeAll(sandboxUp, 180_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      await runCli(['sandbox', 'down'], cwd);
      // `down` returns once the sandbox has stopped: its process exits at once (a bound, not a wait).
      await exitWithin(up, 3_000);
      if (up.exitCode === null) up.kill('SIGTERM');
    }
  }, 60_000);

  it('redirects through the front door to the region nearest the client', async () => {
    const response = await fetch(`${state.frontDoorUrl}/health`, {
      redirect: 'manual',
      headers: { 'x-client-region': 'eu-west-1' },
    });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(`${state.regions['eu-west-1']}/health`);
    const followed = await fetch(response.headers.get('location') as string);
    expect(followed.status).toBe(200);
    expect(((await followed.json()) as { region: string }).region).toBe('eu-west-1');
  });

  it('answers DNS queries with the chosen region: an A record and its name in TXT', async () => {
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${state.dnsPort}`]);
    const [a] = await resolver.resolve4(state.dnsName);
    const [[txt]] = (await resolver.resolveTxt(state.dnsName)) as [[string]];
    expect(a).toMatch(/^127\.0\.0\.\d+$/);
    expect(Object.keys(state.regions)).toContain(txt);
  });

  it('replicates a write and reports a passing check; refuses an unknown region with exit code 2', async () => {
    const body = JSON.stringify({ type: 'SetDisplayName', payload: { displayName: 'E2E' } });
    const path = `${state.regions['us-east-1']}/v1/profile/e2e/commands`;
    // The API refuses a request without credentials (API Gateway's JWT authorizer: 401), then takes it.
    expect((await fetch(path, { method: 'POST', body })).status).toBe(401);
    const write = await fetch(path, { method: 'POST', body, headers: auth() });
    expect(write.status).toBe(200);
    const check = await runCli(['check'], cwd);
    expect(check.out).toContain('"passed": true');
    expect(check.code).toBe(0);
    const read = await fetch(`${state.regions['eu-west-1']}/v1/profile/e2e`, { headers: auth() });
    expect(((await read.json()) as { state: { displayName: string } }).state.displayName).toBe('E2E');
    const unknown = await runCli(['chaos', 'kill-region', 'mars-north-1'], cwd);
    expect(unknown.out).toContain('unknown region "mars-north-1"');
    expect(unknown.out).not.toContain('    at ');
    expect(unknown.code).toBe(2);
  }, 120_000);

  it('sandbox down then up with the same --data-dir brings back events, rows and the partition map', async () => {
    const api = () => state.regions['us-east-1'];
    const open = await fetch(`${api()}/v1/account/persisted/commands`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } }),
    });
    expect(open.status).toBe(200);
    await runCli(['check'], cwd);
    const before = JSON.parse((await runCli(['status', '--json'], cwd)).out) as {
      partitionsPerHome: Record<string, number>;
    };
    expect(before.partitionsPerHome['us-east-1']).toBeGreaterThan(0);

    expect((await runCli(['sandbox', 'down'], cwd)).code).toBe(0);
    // `down` returns once the sandbox has stopped: the next command finds none.
    expect(existsSync(stateFile)).toBe(false);
    await new Promise<void>((resolve) =>
      up.exitCode === null ? up.once('exit', () => resolve()) : resolve(),
    );
    await sandboxUp();

    const after = JSON.parse((await runCli(['status', '--json'], cwd)).out) as {
      partitionsPerHome: Record<string, number>;
    };
    expect(after.partitionsPerHome).toEqual(before.partitionsPerHome);
    for (const region of ['us-east-1', 'eu-west-1']) {
      const read = await fetch(`${state.regions[region]}/v1/profile/e2e`, { headers: auth() });
      expect(((await read.json()) as { state: { displayName: string } }).state.displayName).toBe('E2E');
    }
    // A client continues where it left: the account it opened before the restart takes a deposit. It
    // retries a 503 as a client should, with the same idempotency key: a first write answered 503 while
    // the cell was still warming up may have landed, and a retry without the key would deposit twice.
    let deposit = 0;
    for (let i = 0; i < 20 && deposit !== 200; i++) {
      const response = await fetch(`${api()}/v1/account/persisted/commands`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ type: 'Deposit', payload: { amount: 5 }, idempotencyKey: 'after-restart' }),
      });
      deposit = response.status;
      if (deposit !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(deposit).toBe(200);
    const account = await fetch(`${api()}/v1/account/persisted`, { headers: auth() });
    expect(((await account.json()) as { version: number }).version).toBe(2);
  }, 480_000);
});
