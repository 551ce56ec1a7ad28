import { regionNames, type Topology } from '../../config/index.ts';
import {
  DynamoObservationStore,
  type FailoverStart,
  probeHealth,
  staleHeartbeatMs,
  Watchdog,
  type WatchdogSettings,
  watchdogSettings,
} from '../../detection/index.ts';
import type { QuorumRegister } from '../../ownership/index.ts';
import { lagMs } from '../../replication/index.ts';
import { type RegionTraffic, regionTrafficKey } from '../../resilience/index.ts';
import type { LocalFunctionDeps } from './local-functions.ts';
import type { SandboxRegion } from './region.ts';
import type { SandboxTiming } from './timing.ts';
import { wanDocumentClient } from './wan-adapters.ts';

/** The length of one scheduled run: the watchdog rule fires every minute (`rate(1 minute)`). */
const SCHEDULE_MS = 60_000;

/** The watchdog's settings in the sandbox: the topology's, scaled by `awsTimeScale`, with floors. */
export function sandboxWatchdogSettings(topology: Topology, timing: SandboxTiming): WatchdogSettings {
  return watchdogSettings(topology, {
    timeScale: timing.awsTimeScale,
    heartbeatIntervalMs: timing.heartbeatIntervalMs,
    // As the GTM's checks: a loaded 2-core machine must not look like a lost region.
    minProbeTimeoutMs: 2_000,
    // Silence is judged as on AWS (two of the topology's heartbeat periods, 10 s), not on --fast's 500 ms
    // heartbeats: the pipeline of a 2-core machine shared by several runs lags seconds (3 s was crossed
    // under load without any region lost, and a Failover started that ConfirmRegionLost then refused).
    minStaleHeartbeatMs: staleHeartbeatMs(topology.thresholds.heartbeatIntervalMs),
    minClaimRetryMs: 30_000,
  });
}

/**
 * A region's watchdog wired as in Lambda, over the sandbox: probes of the peers' /health and reads of
 * their control tables cross the WAN (a cut link is a failed probe), the claim goes through the region's
 * quorum register, and the Failover starts in this region's state machine runner. Its timers are the
 * topology's, scaled by the sandbox's `awsTimeScale`; probe timeouts and silence never go below AWS's.
 */
export function regionWatchdog(input: {
  readonly self: SandboxRegion;
  readonly peers: readonly SandboxRegion[];
  readonly register: QuorumRegister;
  readonly startFailover: (start: FailoverStart) => Promise<void>;
}): LocalFunctionDeps['watchdog'] {
  const { self, register } = input;
  const { topology, timing, wan, log } = self.options;
  const settings = sandboxWatchdogSettings(topology, timing);
  const peer = (name: string) => {
    const found = input.peers.find((p) => p.name === name);
    if (!found) throw new Error(`no sandbox region ${name}`);
    return found;
  };
  const roundTrip = async <T>(to: string, call: () => Promise<T>): Promise<T> => {
    const result = await wan.send(self.name, to, call);
    return wan.send(to, self.name, () => result);
  };
  const detector = new Watchdog({
    region: self.name,
    regions: regionNames(topology),
    autoFailover: topology.gtm.autoFailover,
    ...settings,
    probe: (target) =>
      roundTrip(target, () =>
        probeHealth(`${peer(target).apiUrl}${topology.gtm.healthCheck.path}`, {
          timeoutMs: settings.probeTimeoutMs,
        }),
      ).catch((error: Error) => ({ verdict: 'down' as const, detail: error.message })),
    heartbeatAgeMs: async (target) =>
      lagMs(
        Date.now(),
        (await self.stores.watermarks.list()).find((w) => w.origin === target),
      ),
    observations: new DynamoObservationStore({
      region: self.name,
      tableName: self.stores.tables.control,
      clientFor: (name) =>
        name === self.name
          ? self.clients.doc
          : wanDocumentClient(self.name, name, peer(name).clients.doc, wan),
    }),
    register,
    isDrained: async (target) =>
      (await register.read<RegionTraffic>(regionTrafficKey(target)))?.value.state === 'drained',
    startFailover: input.startFailover,
    log,
  });
  return {
    detector,
    intervalMs: settings.intervalMs,
    windowMs: SCHEDULE_MS * timing.awsTimeScale,
    // A stopping sandbox does not wait out the rest of a scheduled run's window (a minute on AWS timers).
    running: () => !self.isDown && !self.isClosing,
  };
}
