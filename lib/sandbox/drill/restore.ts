import { bugEnabled } from '../../faults/switches.ts';
import { notEverywhere, userEventIdsOf } from '../demo/at-risk.ts';
import { demoWorkloadFor } from '../demo/clients.ts';
import { copySize } from '../dynamodb/table-copy.ts';
import type { ConsistencyReport } from '../platform/consistency.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { recordingWriters } from './recording-writers.ts';

/** One phase of the restore drill, with its wall-clock bounds. */
export interface RestorePhase {
  readonly name: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** What the restore drill measured. */
export interface RestoreDrillReport {
  readonly region: string;
  readonly peers: readonly string[];
  /** The point in time the region's tables were restored to (wall-clock ms of the copy). */
  readonly restoredTo: number;
  readonly phases: readonly RestorePhase[];
  /** Items in the copy, per table. */
  readonly copiedItems: Readonly<Record<string, number>>;
  /** Acknowledged writes (user events) before and after T. */
  readonly acknowledged: { readonly beforeT: number; readonly afterT: number };
  /** User events the region held before the restore and not after: what the restore took away. */
  readonly lostByRestore: number;
  /** Acknowledged events written after T that the region held before the restore but not after it. */
  readonly afterTLost: number;
  /** The consistency check between the restore and Repair (it must fail: the region lacks events). */
  readonly checkBeforeRepair: ConsistencyReport;
  /** Events the Repair runbook put into a region (any region), from its report. */
  readonly repaired: number;
  /** Events that Repair refused to put into a log (a taken slot, a failed check), from its report. */
  readonly refused: number;
  readonly repairStatus: string;
  /** Repair passes run after the first one until one found nothing lacking (at most MAX_VERIFYING_PASSES). */
  readonly verifyingPasses: number;
  /** A verifying pass found nothing lacking, so the region took writes again. */
  readonly verified: boolean;
  /** Writes acknowledged after the region was verified and reopened (clients near every region). */
  readonly writesAfterRepair: number;
  /** Lost-by-restore events the region still lacks after Repair. */
  readonly stillMissing: number;
  /** Acknowledged events some region lacks at the end. */
  readonly acknowledgedLost: number;
  /** From the end of the restore to a passing consistency check (Repair included), ms. */
  readonly convergeMs: number | undefined;
  readonly check: ConsistencyReport;
  /** True when every region converged and no acknowledged write is lost. */
  readonly passed: boolean;
}

export interface RestoreDrillOptions {
  readonly region: string;
  /** Length of each write phase (before T, after T), ms. */
  readonly phaseMs: number;
  readonly log: (line: string) => void;
  /** Run the Repair runbook after the restore (default true); false shows what the check finds without it. */
  readonly repair?: boolean;
}

/** The drill's phases (each prints a progress line). */
const PHASES = 9;
/** Verifying Repair passes before the drill gives up (the region then stays closed to writes). */
const MAX_VERIFYING_PASSES = 5;
/**
 * How long one catch-up of every region may take before the drill fails (a hang guard: a catch-up ends as
 * soon as it is done). 30 s was spent by one catch-up after 1.5 s of writes on a CI machine 3x slower than this one.
 */
const QUIESCE_MS = 60_000;

export interface RepairPass {
  readonly status: string;
  readonly report: {
    readonly eventsReplayed?: number;
    readonly eventsRefused?: number;
    readonly conflictsRecreated?: number;
    readonly conflictsResolved?: number;
    readonly holdsReleased?: number;
    readonly holdsKept?: number;
    readonly holdsUnanswered?: readonly string[];
    readonly partitionsDiffering?: number;
    readonly partitionsFailed?: readonly unknown[];
  };
}

/** One execution of the Repair state machine from `region`, with its report. */
async function repairPass(sandbox: Sandbox, region: string): Promise<RepairPass> {
  const execution = await sandbox.runStateMachine(region, 'Repair', {});
  const report = (execution.output as { report?: RepairPass['report'] } | undefined)?.report ?? {};
  return { status: execution.status, report };
}

/**
 * Nothing lacking: the pass succeeded, found every region's trees equal, put nothing in, refused nothing,
 * left no hold, and every region of the run answered for its holds (one that did not is left out of
 * holdsKept and only named in holdsUnanswered: it may still hold the restored holds). Switch
 * `drill-ignores-unanswered-holds`: holdsUnanswered is not read.
 */
export function foundNothing(pass: RepairPass): boolean {
  const r = pass.report;
  return (
    pass.status === 'SUCCEEDED' &&
    (r.partitionsDiffering ?? 1) === 0 &&
    (r.eventsReplayed ?? 1) === 0 &&
    (r.eventsRefused ?? 0) === 0 &&
    (r.conflictsRecreated ?? 0) === 0 &&
    (r.conflictsResolved ?? 0) === 0 &&
    (r.holdsReleased ?? 0) === 0 &&
    (r.holdsKept ?? 0) === 0 &&
    (bugEnabled('drill-ignores-unanswered-holds') || (r.holdsUnanswered ?? []).length === 0) &&
    (r.partitionsFailed ?? []).length === 0
  );
}

/**
 * Repair passes after the first until one finds nothing lacking (what the first handed to appliers may
 * still be on a bus, hence the catch-up between passes).
 */
async function verifyRepaired(sandbox: Sandbox, region: string) {
  let last = await repairPass(sandbox, region);
  let passes = 1;
  while (!foundNothing(last) && passes < MAX_VERIFYING_PASSES) {
    await sandbox.quiesce(QUIESCE_MS);
    last = await repairPass(sandbox, region);
    passes++;
  }
  return { passes, last, clean: foundNothing(last) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How much longer than its phase a writing phase waits for its first acknowledged write. */
const FIRST_ACK_WAIT_MS = 30_000;

/**
 * Lets the writers write for `ms`, and on until at least one more write was acknowledged (at most
 * FIRST_ACK_WAIT_MS longer): on a loaded machine a short phase could end before any write was answered,
 * and a phase with no acknowledged write shows nothing (no loss to measure, no write kept to check).
 */
async function writeFor(writers: { acknowledgedIds(): Set<string> }, ms: number): Promise<void> {
  const before = writers.acknowledgedIds().size;
  await sleep(ms);
  const deadline = Date.now() + FIRST_ACK_WAIT_MS;
  while (writers.acknowledgedIds().size === before && Date.now() < deadline) await sleep(100);
}

/**
 * The restore drill: writes, a point-in-time copy of one region's tables (T), more writes, a restore of
 * that region to T (everything after T is gone there), the Repair runbook bringing it back from the peers,
 * a verifying Repair pass that finds nothing lacking, writes again (the region included), and the
 * consistency check. No client writes from the restore until a verifying pass finds nothing lacking: a
 * restored region would otherwise hand out sequence numbers its lost events already used.
 */
export async function runRestoreDrill(
  sandbox: Sandbox,
  options: RestoreDrillOptions,
): Promise<RestoreDrillReport> {
  const { log, phaseMs } = options;
  const target = sandbox.region(options.region);
  const peers = sandbox.regions.filter((r) => r.name !== target.name);
  const regions = sandbox.regions.map((r) => r.name);
  const phases: RestorePhase[] = [];
  const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const startedAt = Date.now();
    log(`[${phases.length + 1}/${PHASES}] ${name}`);
    const result = await run();
    phases.push({ name, startedAt, endedAt: Date.now() });
    return result;
  };
  // No replication delivery into the region while its tables are read or replaced (the buses retry later).
  const cut = (on: boolean) => {
    if (!on) return sandbox.heal();
    for (const peer of peers) sandbox.partition(target.name, peer.name);
  };

  const writers = recordingWriters({
    client: sandbox.apiClient,
    frontDoor: sandbox.gtm.frontDoorUrl,
    regions,
    workload: demoWorkloadFor(sandbox.application),
  });
  await phase(`writes before T for ${phaseMs} ms from clients near ${regions.join(', ')}`, async () => {
    await writers.open();
    writers.start();
    await writeFor(writers, phaseMs);
  });

  const copy = await phase(`point-in-time copy of ${target.name}'s tables (T)`, async () => {
    // A consistent instant: no client write in flight and every region caught up, then no delivery
    // into the region while its six tables are read.
    await writers.pause();
    await sandbox.quiesce(QUIESCE_MS);
    cut(true);
    try {
      return await target.copyTables();
    } finally {
      cut(false);
      writers.resume();
    }
  });
  const beforeT = writers.acknowledgedIds().size;
  log(`      T = ${new Date(copy.takenAt).toISOString()}: ${JSON.stringify(copySize(copy))}`);

  await phase(
    `writes after T for ${phaseMs} ms; then the writers stop and every region catches up`,
    async () => {
      await writeFor(writers, phaseMs);
      await writers.stop();
      await sandbox.quiesce(QUIESCE_MS);
    },
  );
  const acknowledgedBeforeRestore = writers.acknowledgedIds().size;
  const afterTIds = [...writers.acknowledgedIds()].filter(
    (id) => !writers.acknowledgedBefore(copy.takenAt).has(id),
  );

  const held = await userEventIdsOf(target);
  const restoredAt = await phase(
    `restore ${target.name} to T (tables replaced, new streams); no client writes until a verifying Repair pass finds nothing lacking`,
    async () => {
      cut(true);
      try {
        await target.restoreTables(copy);
      } finally {
        cut(false);
      }
      return Date.now();
    },
  );
  const after = await userEventIdsOf(target);
  const lost = [...held].filter((id) => !after.has(id));
  const afterTLost = afterTIds.filter((id) => held.has(id) && !after.has(id)).length;
  log(
    `      ${target.name} lost ${lost.length} events (${afterTLost} of the ${afterTIds.length} acknowledged after T)`,
  );

  const checkBeforeRepair = await phase('consistency check before Repair', async () => {
    await sandbox.quiesce(QUIESCE_MS);
    return sandbox.check();
  });
  log(`      ${checkBeforeRepair.verdict}`);

  const repair = await phase(
    options.repair === false
      ? 'Repair skipped'
      : `Repair runbook from ${target.name} (anti-entropy with the peers)`,
    async () => (options.repair === false ? undefined : repairPass(sandbox, target.name)),
  );
  if (repair) log(`      repair ${repair.status}: ${JSON.stringify(repair.report)}`);

  // The region takes no write until a Repair pass finds nothing lacking (the procedure on AWS too).
  const verified = await phase(
    options.repair === false
      ? 'verifying Repair pass skipped: the region stays closed to writes'
      : 'verifying Repair passes until one finds nothing lacking',
    async () => (options.repair === false ? undefined : verifyRepaired(sandbox, target.name)),
  );
  if (verified)
    log(`      ${verified.passes} verifying pass(es); last: ${JSON.stringify(verified.last.report)}`);

  const reopened = verified?.clean === true;
  await phase(
    reopened
      ? `writes again for ${Math.round(phaseMs / 2)} ms from clients near ${regions.join(', ')} (${target.name} included)`
      : `no writes: ${target.name} was not verified`,
    async () => {
      if (!reopened) return;
      writers.start();
      await writeFor(writers, Math.round(phaseMs / 2));
      await writers.stop();
      await sandbox.quiesce(QUIESCE_MS);
    },
  );

  const { check, convergeMs } = await phase('consistency check across regions', async () => {
    let result = await sandbox.check();
    for (let attempt = 0; !result.passed && attempt < 10; attempt++) {
      await sleep(500);
      await sandbox.quiesce(QUIESCE_MS);
      result = await sandbox.check();
    }
    return { check: result, convergeMs: result.passed ? Date.now() - restoredAt : undefined };
  });
  const acknowledged = writers.acknowledgedIds();
  const stillMissing = (await notEverywhere(new Set(lost), [target])).length;
  const acknowledgedLost = (await notEverywhere(acknowledged, sandbox.regions)).length;
  log(`      ${check.verdict}; ${acknowledgedLost} acknowledged writes lost`);
  return {
    region: target.name,
    peers: peers.map((p) => p.name),
    restoredTo: copy.takenAt,
    phases,
    copiedItems: copySize(copy),
    acknowledged: { beforeT, afterT: afterTIds.length },
    lostByRestore: lost.length,
    afterTLost,
    checkBeforeRepair,
    repaired: repair?.report.eventsReplayed ?? 0,
    refused: repair?.report.eventsRefused ?? 0,
    repairStatus: repair?.status ?? 'SKIPPED',
    verifyingPasses: verified?.passes ?? 0,
    verified: reopened,
    writesAfterRepair: acknowledged.size - acknowledgedBeforeRestore,
    stillMissing,
    acknowledgedLost,
    convergeMs,
    check,
    passed: check.passed && acknowledgedLost === 0 && stillMissing === 0 && reopened,
  };
}
