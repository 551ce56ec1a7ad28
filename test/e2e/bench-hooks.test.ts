import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideScripts, seedDecided } from '../../bench/repair-seed.ts';
import { activity } from '../../examples/bank/activity.ts';
import { profile } from '../../examples/bank/profile.ts';
import type { FailoverStart } from '../../lib/detection/index.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { aggregateKey } from '../../lib/store/index.ts';

const ORIGIN = 'us-east-1';
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true });
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

/** Writes one activity entry (or a profile's name) straight into the origin's tables (as the benches seed). */
async function seedOne(aggregateId: string, type: 'activity' | 'profile' = 'activity'): Promise<void> {
  const region = sandbox.region(ORIGIN);
  const script =
    type === 'activity'
      ? {
          aggregate: activity,
          aggregateId,
          origin: ORIGIN,
          commands: [{ type: 'AppendEntry', payload: { kind: 'k', message: aggregateId } }],
        }
      : {
          aggregate: profile,
          aggregateId,
          origin: ORIGIN,
          commands: [{ type: 'SetDisplayName', payload: { displayName: aggregateId } }],
        };
  const decided = decideScripts([script], sandbox.topology);
  await seedDecided(decided, {
    into: [{ name: ORIGIN, doc: region.clients.doc, tables: region.stores.tables }],
  });
}

async function rowIn(regionName: string, aggregateId: string, type = 'activity'): Promise<boolean> {
  const region = sandbox.region(regionName);
  const out = await region.clients.doc.send(
    new GetCommand({
      TableName: region.stores.tables.state,
      Key: { pk: aggregateKey(type, aggregateId) },
    }),
  );
  return out.Item !== undefined;
}

/** What the ordinary lane's queue of a region holds (applier-failures has a mapping of its own). */
const queuedIn = (region: string) =>
  sandbox.laneStats().find((s) => s.region === region && s.queue.endsWith('-ordinary-lane'))?.queued ?? 0;

describe('the sandbox hooks the benches build backlogs with', () => {
  it('withoutPublishing: what is written inside is never published, what is written after is', async () => {
    const hidden = `hook-hidden-${Date.now()}`;
    const shown = `hook-shown-${Date.now()}`;
    await sandbox.region(ORIGIN).withoutPublishing(() => seedOne(hidden));
    await seedOne(shown);
    await sandbox.quiesce(60_000);
    expect(await rowIn(ORIGIN, hidden)).toBe(true);
    for (const peer of ['eu-west-1', 'ap-southeast-1']) {
      expect(await rowIn(peer, shown)).toBe(true);
      expect(await rowIn(peer, hidden)).toBe(false);
    }
  }, 180_000);

  it('holdLane: a held lane only fills; released, it drains', async () => {
    const held = 'ap-southeast-1';
    const id = `hook-held-${Date.now()}`;
    sandbox.holdLane(held, true);
    try {
      await seedOne(id);
      await sandbox.quiesce(60_000);
      // Past the lane's batching window (1 s): a mapping that polled would have applied it by now.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await rowIn('eu-west-1', id)).toBe(true);
      expect(queuedIn(held)).toBeGreaterThanOrEqual(1);
      expect(await rowIn(held, id)).toBe(false);
    } finally {
      sandbox.holdLane(held, false);
    }
    await sandbox.quiesce(60_000);
    expect(queuedIn(held)).toBe(0);
    expect(await rowIn(held, id)).toBe(true);
  }, 180_000);
});

describe("the functions' timeouts", () => {
  it('cut off each function an AWS service invokes at its template timeout (not the API, nor the watchdog)', () => {
    const functions = sandbox.region('eu-west-1').functions;
    expect(
      ['applier', 'publisher', 'runbook', 'saga', 'lag-monitor', 'watchdog', 'api'].map((name) =>
        functions.timeoutMs(name),
      ),
    ).toEqual([60_000, 60_000, 300_000, 60_000, 75_000, undefined, undefined]);
  });
});

describe('a real-time apply that keeps failing (the apply rule invokes the applier asynchronously)', () => {
  it('is retried twice by Lambda, then sent to applier-failures as an invocation record, and redriven to the applier from there', async () => {
    const target = 'eu-west-1';
    const id = `redrive-${Date.now()}`;
    const region = sandbox.region(target);
    const stats = () => region.bus.stats();
    const sentTo = (name: string) =>
      sandbox.queueDepths().find((q) => q.region === target && q.name.endsWith(name))?.sent ?? 0;
    const before = { ...stats(), sent: sentTo('-applier-failures') };
    // The first invocation and Lambda's two retries fail (as a cut-off quorum read would).
    region.failInvocations(
      `multiactive-${sandbox.topology.name}-applier`,
      3,
      (payload) => (payload as { detail?: { aggregateId?: unknown } }).detail?.aggregateId === id,
    );
    await seedOne(id, 'profile');
    await expect
      .poll(() => sentTo('-applier-failures') - before.sent, { timeout: 120_000, interval: 500 })
      .toBe(1);
    // Lambda's policy (2 retries), not the rule's 50: the rule delivered it once and is done with it.
    expect(stats().functionRetries - before.functionRetries).toBeGreaterThanOrEqual(2);
    expect(stats().functionFailures - before.functionFailures).toBeGreaterThanOrEqual(1);
    expect(region.deadLetters.filter((d) => JSON.stringify(d.event).includes(id))).toEqual([]);
    await expect.poll(() => rowIn(target, id, 'profile'), { timeout: 60_000, interval: 500 }).toBe(true);
    await sandbox.quiesce(60_000);
    const queue = sandbox
      .queueDepths()
      .find((q) => q.region === target && q.name.endsWith('-applier-failures'));
    expect({ visible: queue?.visible, inFlight: queue?.inFlight }).toEqual({ visible: 0, inFlight: 0 });
    expect(await rowIn('ap-southeast-1', id, 'profile')).toBe(true);
  }, 240_000);
});

// Last in the file: it stops the sandbox (afterAll's stop() then waits for the same stop).
describe('stopping the sandbox', () => {
  it('starts no Failover for a watchdog claim made while it stops (stop() would wait it out)', async () => {
    const stopped = sandbox.stop();
    // What a watchdog tick still in flight when stop() began calls with its claim (wired into every
    // region's watchdog as StartExecution of the region's Failover).
    const watchdogStart = sandbox as unknown as {
      startFailover(region: string, start: FailoverStart): Promise<void>;
    };
    const claim = watchdogStart.startFailover(ORIGIN, {
      name: 'claimed-while-stopping',
      input: { region: 'eu-west-1', trigger: 'watchdog', claimedBy: ORIGIN, claimEpoch: 1 },
    });
    await stopped;
    expect(sandbox.watchdogFailovers().filter((f) => f.name === 'claimed-while-stopping')).toEqual([]);
    await claim;
    expect(sandbox.stop()).toBe(stopped);
  }, 120_000);
});
