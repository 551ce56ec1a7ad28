import { describe, expect, it } from 'vitest';
import { multiRegionDeps } from '../../../lib/api/index.ts';
import {
  type CommandDeps,
  dynamoQuorumPeer,
  executeCommand,
  type QuorumPeer,
} from '../../../lib/commands/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { testTopology, uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  open,
  registry,
  snapshotNow,
  threeRegions,
  topology,
  write,
} from './review-retention-fixtures.ts';

/** Room for DynamoDB Local on a loaded machine; the lease above copy + append + skew (fencing-budget.ts). */
const FENCING = {
  leaseMs: 30_000,
  skewMarginMs: 3_000,
  maxClockOffsetMs: 100,
  appendTimeoutMs: 2_000,
  quorumCopyTimeoutMs: 10_000,
};

/**
 * The wiring the API's command deps get on AWS (functions/shared/cell-routing.ts) and in the sandbox
 * (region-routing.ts): `multiRegionDeps` with `archiveOf`, whose region's archive is the quorum copy's
 * (QuorumReplicatorOptions.archive). H archived seq 1-12 of an account; R was then restored to seq 2 and C
 * is unreachable, so H's next write is acknowledged only if R is caught up, and R can be caught up only
 * with whole copies of the archived events (never the stubs).
 */
async function writeThroughWiring(wired: boolean) {
  const [h, c, r] = await threeRegions();
  const id = uniqueId('qc-wire');
  await write(h!, [c!, r!], id, open);
  await write(h!, [c!, r!], id, deposit(1));
  const copy = await copyTables(r!.db.dynamodb, { region: r!.region, env: r!.db.env });
  for (let i = 2; i <= 12; i++) await write(h!, [c!, r!], id, deposit(i));
  await snapshotNow(h!, id);
  const archive = await archiveDir('wiring');
  expect((await archiveAt(h!, archive, [c!, r!], id)).archived).toBe(12);
  await restoreTables(r!.db.dynamodb, copy);

  const unreachable = () => Promise.reject(new Error(`${c!.region} is unreachable`));
  const down: QuorumPeer = {
    region: c!.region,
    copy: unreachable,
    eventsFrom: unreachable,
    discard: unreachable,
  };
  const multi = multiRegionDeps({
    topology: testTopology({ core: { ack: 'quorum' } }),
    region: h!.region,
    controlClients: { [h!.region]: h!.db.doc, [c!.region]: c!.db.doc, [r!.region]: r!.db.doc },
    controlTable: h!.db.tables.control,
    events: { client: h!.db.doc, tableName: h!.db.tables.events },
    states: h!.states,
    transport: { send: async () => ({ status: 503, headers: {}, body: '{}' }) },
    endpoints: {},
    fencing: FENCING,
    quorumPeers: [dynamoQuorumPeer({ region: r!.region, client: r!.db.doc, tables: r!.db.tables }), down],
    localEvents: h!.events,
    ...(wired ? { archiveOf: (region: string) => (region === h!.region ? archive : undefined) } : {}),
  });
  const deps: CommandDeps = {
    registry,
    events: h!.events,
    states: h!.states,
    clock: h!.clock,
    region: h!.region,
    partitions: topology.partitions,
    replicateBeforeAck: multi.api.replicateBeforeAck!,
  };
  const { events } = await executeCommand(deps, {
    aggregateType: 'account',
    aggregateId: id,
    command: deposit(100),
  });
  return { seq: events[0]!.seq, atR: await r!.events.loadStream('account', id) };
}

describe("the quorum copy's archive, wired by multiRegionDeps (archiveOf)", () => {
  it('catches a restored peer up with whole copies from the home archive: the write is acknowledged, the peer holds no stub', async () => {
    const { seq, atR } = await writeThroughWiring(true);
    expect(atR.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(atR.some(isArchivedStub)).toBe(false);
  });

  it('without archiveOf the restored peer is refused and, with the other peer down, the write has no quorum', async () => {
    await expect(writeThroughWiring(false)).rejects.toThrow();
  });
});
