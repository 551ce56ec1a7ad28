import { nearestRegions } from '../../config/index.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { homeOf, live, names, Runs, untilGtmSeesDown } from './fault-runs.ts';
import { largestMinority } from './majority-faults.ts';
import type { InjectInput } from './nemesis.ts';
import { pick } from './random.ts';
import { BASE_KINDS, type Injected, injectSimple, sleep } from './simple-faults.ts';

/** A fault drawn from the simple ones, and a runbook execution started inside its window. */
export async function runbookDuringFault(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  const { random } = input;
  const base = pick(random, BASE_KINDS);
  const fault = await injectSimple(sandbox, { ...input, kind: base });
  const runs = new Runs(input);
  await sleep(200 + random() * 600);
  const runIn = pick(random, live(sandbox));
  if (base === 'kill-region') {
    const lost = fault.target;
    await untilGtmSeesDown(sandbox, lost);
    const failover = runs.start(runIn, 'Failover', { region: lost, trigger: 'chaos' });
    return {
      target: `${base} ${fault.target}; Failover(${lost}) in ${runIn}, then Failback`,
      runbooks: runs.list,
      heal: async () => {
        await fault.heal();
        runs.failbackAfter(sandbox, failover, lost);
      },
    };
  }
  if (random() < 0.5 && input.partitions.length > 0) {
    const partition = pick(random, input.partitions);
    void runs.start(runIn, 'Switchover', {
      partitions: [partition],
      to: runIn,
      reason: `chaos: during ${base}`,
    });
    return {
      target: `${base} ${fault.target}; Switchover([${partition}] -> ${runIn})`,
      runbooks: runs.list,
      heal: fault.heal,
    };
  }
  void runs.start(runIn, 'Repair', {});
  return { target: `${base} ${fault.target}; Repair in ${runIn}`, runbooks: runs.list, heal: fault.heal };
}

/** A workload partition, its home and another region to move it to (undefined when no home is readable). */
async function switchoverPlan(sandbox: Sandbox, input: InjectInput) {
  if (input.partitions.length === 0) return undefined;
  const partition = pick(input.random, input.partitions);
  const home = await homeOf(sandbox, partition);
  if (!home) return undefined;
  const to = pick(
    input.random,
    live(sandbox).filter((n) => n !== home),
  );
  return to ? { partition, home, to } : undefined;
}

/**
 * A Switchover of one workload partition, and 50-700 ms into it a kill of its source or its target; the
 * victim is revived at heal. The Switchover must end moved or rolled back, never with two homes.
 */
export async function killDuringSwitchover(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  const { random } = input;
  const plan = await switchoverPlan(sandbox, input);
  if (!plan) return injectSimple(sandbox, { ...input, kind: 'kill-region' });
  const runs = new Runs(input);
  const victim = random() < 0.5 ? plan.home : plan.to;
  const runIn = pick(
    random,
    live(sandbox).filter((n) => n !== victim),
  );
  void runs.start(runIn, 'Switchover', {
    partitions: [plan.partition],
    to: plan.to,
    reason: 'chaos: kill during switchover',
  });
  await sleep(50 + random() * 650);
  await sandbox.killRegion(victim);
  return {
    target: `Switchover([${plan.partition}] ${plan.home} -> ${plan.to}) in ${runIn}, kill ${victim}`,
    runbooks: runs.list,
    heal: () => sandbox.reviveRegion(victim),
  };
}

/**
 * A Switchover of one workload partition away from its home, then a kill of that home and a Failover of
 * it while the Switchover still runs; the home is revived at heal and failed back once the Failover is over.
 */
export async function failoverDuringSwitchover(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  const { random } = input;
  const plan = await switchoverPlan(sandbox, input);
  if (!plan) return injectSimple(sandbox, { ...input, kind: 'kill-region' });
  const runs = new Runs(input);
  const runIn = pick(
    random,
    live(sandbox).filter((n) => n !== plan.home),
  );
  void runs.start(runIn, 'Switchover', {
    partitions: [plan.partition],
    to: plan.to,
    reason: 'chaos: failover during switchover',
  });
  await sleep(50 + random() * 650);
  await sandbox.killRegion(plan.home);
  await untilGtmSeesDown(sandbox, plan.home);
  const failover = runs.start(runIn, 'Failover', { region: plan.home, trigger: 'chaos' });
  return {
    target: `Switchover([${plan.partition}] ${plan.home} -> ${plan.to}) in ${runIn}, kill ${plan.home}, Failover(${plan.home}) in ${runIn}, then Failback`,
    runbooks: runs.list,
    heal: async () => {
      await sandbox.reviveRegion(plan.home);
      runs.failbackAfter(sandbox, failover, plan.home);
    },
  };
}

/**
 * The home of a workload partition is cut off from every peer but stays up: clients near it keep writing
 * there while its lease lasts, with `ack: local` acknowledged but unreplicated. A Failover runs in a
 * survivor; the new home writes the same seqs once its hold is over. At heal (after the Failover and that
 * hold) the link comes back and Failback settles the orphans: under `ack: local` the forked ones must end
 * in every region's manual queue, never deleted; under `ack: quorum` the cut-off home could not have
 * acknowledged any.
 */
export async function forkedOrphanFailback(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  const { random } = input;
  const plan = await switchoverPlan(sandbox, input);
  const home = plan?.home ?? pick(random, live(sandbox));
  const runs = new Runs(input);
  sandbox.wan.isolate(home);
  // The survivors vote the home lost once its heartbeats are stale (2 heartbeat intervals).
  await sleep(2.5 * sandbox.timing.heartbeatIntervalMs);
  const runIn = pick(
    random,
    live(sandbox).filter((n) => n !== home),
  );
  const failover = runs.start(runIn, 'Failover', { region: home, trigger: 'chaos' });
  return {
    target: `isolate ${home}, Failover(${home}) in ${runIn}, new home writes, heal, Failback`,
    runbooks: runs.list,
    heal: async () => {
      await failover;
      await sleep(sandbox.timing.fencing.leaseMs + sandbox.timing.fencing.skewMarginMs + 1_000);
      sandbox.heal();
      runs.failbackAfter(sandbox, failover, home);
    },
  };
}

/**
 * `ack: quorum`: the links between a home and the survivors nearest to it are cut (one of two with three
 * regions, two of four with five: as many as a majority can spare), the first of them being the region
 * Failover will choose as its new home; so the home's quorum copies land on the farthest survivors only.
 * Then the home is killed and failed over. The new home must collect those copies before its first write.
 * Healed by reviving the home and restoring the links, then Failback once the Failover is over.
 */
export async function quorumCopyElsewhere(sandbox: Sandbox, input: InjectInput): Promise<Injected> {
  const { random } = input;
  const plan = await switchoverPlan(sandbox, input);
  const home = plan?.home ?? pick(random, live(sandbox));
  const survivors = names(sandbox).filter((n) => n !== home);
  const nearest = nearestRegions(sandbox.topology, home, survivors);
  const cut = nearest.slice(0, largestMinority(names(sandbox).length));
  const holders = nearest.slice(cut.length);
  const newHome = cut[0];
  if (!newHome || holders.length === 0) return injectSimple(sandbox, { ...input, kind: 'kill-region' });
  const runs = new Runs(input);
  for (const region of cut) sandbox.partition(home, region);
  await sleep(800 + random() * 700);
  await sandbox.killRegion(home);
  await untilGtmSeesDown(sandbox, home);
  const runIn = pick(random, [newHome, ...holders]);
  const failover = runs.start(runIn, 'Failover', { region: home, trigger: 'chaos' });
  return {
    target: `cut ${cut.map((r) => `${home}|${r}`).join(', ')} (copies land on ${holders.join(', ')}), kill ${home}, Failover(${home}) in ${runIn}, then Failback`,
    runbooks: runs.list,
    heal: async () => {
      sandbox.heal();
      await sandbox.reviveRegion(home);
      runs.failbackAfter(sandbox, failover, home);
    },
  };
}
