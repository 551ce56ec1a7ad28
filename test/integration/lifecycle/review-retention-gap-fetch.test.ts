import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { type Cell, makeCell, REGIONS, uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  open,
  snapshotNow,
  topology,
  write,
} from './review-retention-fixtures.ts';

/**
 * Guarantee attacked: "the applier receiving a stub" / "nothing refused that should be served without a
 * clear error" (and DESIGN §3: poison events go to the DLQ, valid ones are never treated as poison).
 *
 * Interleaving: H archives seq 1-12 (gated correctly); R is restored to seq 2 (restore drill). H's next
 * write (seq 14) reaches R's applier: parked behind the gap 3-13. Once the gap is older than
 * `coreGapTimeoutMs`, the applier fetches 3-13 from the event's origin, H, whose log holds stubs there
 * (`eventStoreOriginReader` reads `pages`, stubs included, with `payload: {}` and `archived: true`). The
 * first fetched event fails the strict envelope schema ("archived" is not an envelope field) and is put
 * into R's quarantine as a poison event (invalid envelope): an acknowledged, valid event from a healthy
 * home, reported as poison; the gap stays, and C, which holds 3-12 whole, is never asked.
 */
async function scenario(): Promise<void> {
  let clockAtR = Date.now();
  const cells: Cell[] = [];
  for (const region of REGIONS)
    cells.push(
      await makeCell(region, {
        topology,
        peers: () => cells,
        ...(region === REGIONS[2] ? { now: () => new Date(clockAtR) } : {}),
      }),
    );
  const [h, c, r] = cells;
  const id = uniqueId('rr-gap');
  await write(h!, [c!, r!], id, open);
  await write(h!, [c!, r!], id, deposit(1));
  const copy = await copyTables(r!.db.dynamodb, { region: r!.region, env: r!.db.env });
  for (let i = 2; i <= 12; i++) await write(h!, [c!, r!], id, deposit(i));
  await snapshotNow(h!, id);
  expect((await archiveAt(h!, await archiveDir('gap'), [c!, r!], id)).archived).toBe(12);
  await restoreTables(r!.db.dynamodb, copy);

  const [next] = await write(h!, [c!], id, deposit(100));
  await r!.apply(structuredClone(next!));
  clockAtR += topology.thresholds.coreGapTimeoutMs + 1_000;
  // A redelivery (EventBridge retries) after the gap timed out: the applier fetches the gap from H.
  const outcome = await r!.apply(structuredClone(next!)).then(
    (result) => JSON.stringify(result).slice(0, 200),
    (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
  );
  const quarantined = await r!.quarantine.count();
  const entries = await r!.db.doc.send(new ScanCommand({ TableName: r!.db.tables.quarantine }));
  const why = JSON.stringify(entries.Items ?? [])
    .match(/archived[^"]*"[^"]*"/g)
    ?.slice(0, 2);
  expect(
    quarantined,
    `quarantined: ${why}; apply: ${outcome}; R's log: ${(await r!.events.loadStream('account', id)).map((e) => e.seq)}`,
  ).toBe(0);
}

describe('review-retention: a gap fetch from an origin that archived the gap', () => {
  it('never quarantines an acknowledged event as poison because its origin holds only its stub', scenario);

  it("under gap-fetch-reads-stubs (the fetch takes the origin's stubs as events) the event is quarantined", async () => {
    await expect(withBug('gap-fetch-reads-stubs', scenario)).rejects.toThrow();
  });
});
