import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import {
  type CommandDeps,
  dynamoQuorumPeer,
  executeCommand,
  quorumReplicator,
} from '../../../lib/commands/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { foldFullLog } from '../../../lib/lifecycle/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { uniqueId } from '../replication/cells.ts';
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

/**
 * Guarantees attacked: "a stub is never appended anywhere" (README Data lifecycle) and "no region left
 * unable to serve an aggregate forever".
 *
 * Interleaving: H archives seq 1-12 of an account (gated correctly on C's and R's watermarks and logs). R is
 * then restored to a point in time at seq 2 (the restore drill), and before Repair has put its events back,
 * H takes a write under `core.ack: 'quorum'`. The copy to R is refused (behind), so `copyToPeer` catches R
 * up from the home's own log (`homeRange` = `loadStream`, stubs included) and sends every event R lacks in
 * one raw TransactWrite (`dynamoQuorumPeer.copy`: `toEventItem`, no ArchivedStubAppendError check): R's log
 * gets the home's stubs (`archived: true`, an empty payload), whose payloads R's archive does not hold.
 * R's row can then never be folded (every fold refuses the stubs: R has no snapshot above them, no archive
 * of them), and Repair sees nothing to replay (R lists every eventId).
 */
async function scenario(): Promise<void> {
  const [h, c, r] = await threeRegions();
  const id = uniqueId('rr-qc');
  await write(h!, [c!, r!], id, open);
  await write(h!, [c!, r!], id, deposit(1));
  const copy = await copyTables(r!.db.dynamodb, { region: r!.region, env: r!.db.env });
  for (let i = 2; i <= 12; i++) await write(h!, [c!, r!], id, deposit(i));
  await snapshotNow(h!, id);
  expect((await archiveAt(h!, await archiveDir('quorum'), [c!, r!], id)).archived).toBe(12);
  await restoreTables(r!.db.dynamodb, copy);
  expect((await r!.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2]);

  const deps: CommandDeps = {
    registry,
    events: h!.events,
    states: h!.states,
    clock: h!.clock,
    region: h!.region,
    partitions: topology.partitions,
    replicateBeforeAck: quorumReplicator({
      region: h!.region,
      peers: [dynamoQuorumPeer({ region: r!.region, client: r!.db.doc, tables: r!.db.tables })],
      local: h!.events,
      timeoutMs: 10_000,
    }),
  };
  const outcome = await executeCommand(deps, {
    aggregateType: 'account',
    aggregateId: id,
    command: deposit(100),
  }).then(
    (result) => `acknowledged seq ${result.events[0]!.seq}`,
    (error: unknown) => `refused: ${error instanceof Error ? error.name : String(error)}`,
  );

  // R's applier then receives H's next write (seq 15) through the bus.
  const { events: later } = await executeCommand(
    { ...deps, replicateBeforeAck: undefined },
    { aggregateType: 'account', aggregateId: id, command: deposit(1) },
  );
  const applied = await r!.apply(structuredClone(later[0]!)).then(
    (result) => `R's applier: ${result.status}`,
    (error: unknown) => `R's applier throws ${error instanceof Error ? error.name : String(error)}`,
  );
  const atR = await r!.events.loadStream('account', id);
  const stubsAtR = atR.filter(isArchivedStub).map((e) => e.seq);
  const foldAtR = (() => {
    try {
      return `folds to balance ${JSON.parse(foldFullLog(account, id, atR).state).balance}`;
    } catch (error) {
      return `cannot fold: ${error instanceof Error ? error.name : String(error)}`;
    }
  })();
  expect(stubsAtR, `write ${outcome}; R ${foldAtR}; ${applied}; R holds stubs at seq ${stubsAtR}`).toEqual(
    [],
  );
}

describe('review-retention: a quorum copy that catches a restored peer up from the home log', () => {
  it(
    "never copies the home's archived stubs into the peer (the peer's log holds each event whole, or the copy is refused)",
    scenario,
  );

  it("under quorum-copy-sends-stubs (the raw copy sends the home's stubs) the peer's log takes them", async () => {
    await expect(withBug('quorum-copy-sends-stubs', scenario)).rejects.toThrow();
  });
});
