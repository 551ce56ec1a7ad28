import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApplication } from '../../lib/app/index.ts';
import { fullHistory } from '../../lib/lifecycle/index.ts';
import type { EventEnvelope } from '../../lib/model/index.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { isArchivedStub } from '../../lib/store/archived-stub.ts';
import { aggregateKey, eventSortKey } from '../../lib/store/keys.ts';

// The example bank with `account: { snapshotEvery: 3, retentionDays: 1 }`, two regions, fast timers, on
// disk: the archiver runs from its synthesized schedule as its role, into `<dataDir>/<region>/archive`.
const CONFIG = join(import.meta.dirname, '../support/retention/multiactive.config.ts');
const A = 'us-east-1';
const B = 'eu-west-1';
const DAY = 86_400_000;

let sandbox: Sandbox;
const dataDir = mkdtempSync(join(tmpdir(), 'multiactive-archive-e2e-'));

beforeAll(async () => {
  sandbox = await Sandbox.start({
    fast: true,
    regions: 2,
    dataDir,
    application: await loadApplication(CONFIG),
  });
}, 480_000);

afterAll(async () => {
  await sandbox?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

/**
 * One command with an idempotency key, retried while the API answers 5xx (a fence or lease read that timed
 * out on a loaded machine): the key makes a retry of a write that did land a no-op.
 */
async function command(region: string, id: string, body: object): Promise<number> {
  const key = `${id}-${Math.random().toString(36).slice(2)}`;
  let status = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const response = await sandbox.apiClient.fetch(
      `${sandbox.region(region).apiUrl}/v1/account/${id}/commands`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, idempotencyKey: key }),
        followRedirects: false,
      },
    );
    status = response.status;
    if (status < 500) return status;
    await new Promise((r) => setTimeout(r, 250));
  }
  return status;
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
    value = await read();
  }
  return value;
}

const archiverRows = () => sandbox.iam.usageRows().filter((r) => r.caller === `${A}/archiver`);

describe('the retention archiver in the sandbox (a local directory per region for its bucket)', () => {
  it('runs from the synthesized schedule as the archiver role', async () => {
    // The schedule fires once at start (the sandbox starts mid-period): its Scan of the state table.
    const rows = await until(
      'a scheduled archiver run',
      async () => archiverRows(),
      (r) => r.some((row) => row.operation === 'dynamodb:Scan'),
    );
    expect(rows.every((row) => row.denied === 0)).toBe(true);
  });

  it('archives the covered old events of an account and restores the full history losing nothing', async () => {
    const id = `arch-${Date.now().toString(36)}`;
    expect(await command(A, id, { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } })).toBe(
      200,
    );
    for (let i = 1; i <= 9; i++)
      expect(await command(A, id, { type: 'Deposit', payload: { amount: i } })).toBe(200);
    const home = sandbox.region(A);
    const peer = sandbox.region(B);
    const before: EventEnvelope[] = await home.stores.events.loadStream('account', id);
    expect(before).toHaveLength(10);
    // The peer holds every event and its watermark from A passed the last one (the archiver's gate).
    const last = before.at(-1)!;
    await until(
      `${B} holding ${id} with its watermark from ${A} past it`,
      async () => ({
        held: (await peer.stores.events.loadStream('account', id)).length,
        mark: (await peer.stores.watermarks.watermarkFor(A))?.hlc ?? '',
      }),
      (v) => v.held === 10 && v.mark >= last.hlc,
    );

    // Three days later at the home (the horizon is whole days): its scheduled run, now (`functions.archiver`).
    home.wallClock.offsetMs = 3 * DAY;
    const run = home.functions.archiver!();
    home.wallClock.offsetMs = 0;
    const report = await run;

    expect(report.failures).toEqual([]);
    // Snapshots at 3, 6, 9: everything strictly below seq 9's snapshot point leaves (seq 1..8).
    const after = await home.stores.events.loadStream('account', id);
    expect(after.filter(isArchivedStub).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(after.filter((e) => !isArchivedStub(e))).toEqual(before.slice(8));
    // Objects under <dataDir>/<region>/archive/<app>/<type>/<yyyy>/<mm>/<dd>/<id>/.
    const day = new Date(Date.now()).toISOString().slice(0, 10).split('-');
    const directory = join(dataDir, A, 'archive', 'bank', 'account', ...day, id);
    expect(existsSync(directory)).toBe(true);
    expect(readdirSync(directory)).toEqual(['000000000001-000000000008.jsonl']);
    // Its index entry, <app>/<type>/_by-aggregate/<id>/<yyyy-mm-dd>/<seqs>: what one aggregate's read lists.
    const index = join(dataDir, A, 'archive', 'bank', 'account', '_by-aggregate', id, day.join('-'));
    expect(readdirSync(index)).toEqual(['000000000001-000000000008']);
    // Every S3 call was authorized against the synthesized grants, and none refused.
    const s3 = archiverRows().filter((r) => r.operation.startsWith('s3:'));
    expect(new Set(s3.map((r) => r.operation))).toEqual(new Set(['s3:PutObject', 's3:GetObject']));
    expect(s3.every((r) => r.denied === 0)).toBe(true);
    expect(sandbox.iam.report().denials).toEqual([]);

    // Restore: the archive merged with the hot log is the history before archiving, event for event.
    const restored = await fullHistory(
      { events: home.stores.events, archive: home.stores.archive! },
      'account',
      id,
    );
    expect(restored).toEqual(before);
    // The peer's log was not touched (only a home with a confirmed snapshot archives).
    expect((await peer.stores.events.loadStream('account', id)).some(isArchivedStub)).toBe(false);
    // Nor by the peer's own pass: its copy of the partition map homes the aggregate at A (read as its role).
    peer.wallClock.offsetMs = 3 * DAY;
    const peerRun = peer.functions.archiver!();
    peer.wallClock.offsetMs = 0;
    const peerReport = await peerRun;
    expect(peerReport.failures).toEqual([]);
    expect(peerReport.types.account?.homedElsewhere).toBeGreaterThanOrEqual(1);
    expect((await peer.stores.events.loadStream('account', id)).some(isArchivedStub)).toBe(false);
    expect(sandbox.iam.report().denials).toEqual([]);
  }, 360_000);

  it("never stubs an event the peer's log lacks, though its watermark passed it (a peer restored to a point in time)", async () => {
    const id = `arch-lack-${Date.now().toString(36)}`;
    const home = sandbox.region(A);
    const peer = sandbox.region(B);
    expect(await command(A, id, { type: 'OpenAccount', payload: { owner: 'Bo', currency: 'EUR' } })).toBe(
      200,
    );
    for (let i = 1; i <= 9; i++)
      expect(await command(A, id, { type: 'Deposit', payload: { amount: i } })).toBe(200);
    const before = await home.stores.events.loadStream('account', id);
    const last = before.at(-1)!;
    await until(
      `${B} holding ${id}`,
      async () => ({
        held: (await peer.stores.events.loadStream('account', id)).length,
        mark: (await peer.stores.watermarks.watermarkFor(A))?.hlc ?? '',
      }),
      (v) => v.held === 10 && v.mark >= last.hlc,
    );
    // The peer loses seq 5 (as a point-in-time restore would lose it); its watermark stays past it.
    const lost = before[4]!;
    await peer.clients.doc.send(
      new DeleteCommand({
        TableName: peer.stores.tables.events,
        Key: { pk: aggregateKey('account', id), sk: eventSortKey('core', lost) },
      }),
    );
    home.wallClock.offsetMs = 3 * DAY;
    const run = home.functions.archiver!();
    home.wallClock.offsetMs = 0;
    expect((await run).failures).toEqual([]);
    // Only what the peer's log still holds below its first gap left the hot table.
    const after = await home.stores.events.loadStream('account', id);
    expect(after.filter(isArchivedStub).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(
      await fullHistory({ events: home.stores.events, archive: home.stores.archive! }, 'account', id),
    ).toEqual(before);
  }, 360_000);
});
