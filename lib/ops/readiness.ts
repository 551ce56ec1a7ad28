import type { Topology } from '../config/index.ts';
import { majorityOf } from '../config/index.ts';
import { projectObjectives, type RecoveryTimers, type TierProjection } from './objectives.ts';
import type { MapView } from './partition-view.ts';

/** Everything readiness looks at, gathered by an adapter (sandbox or AWS). Unknown parts are undefined. */
export interface ReadinessSnapshot {
  readonly topology: Topology;
  readonly timers: RecoveryTimers;
  /** Deployed version per region (stack tag in AWS, template hash in the sandbox). */
  readonly versions: Readonly<Record<string, string | undefined>>;
  /** Health-check verdict per region. */
  readonly health: Readonly<Record<string, boolean | undefined>>;
  /** Replication lag per link (`to` applies what `from` wrote), ms; undefined when not measurable. */
  readonly lag: ReadonlyArray<{ from: string; to: string; lagMs: number | undefined }>;
  /** Messages waiting in dead-letter queues and quarantine. */
  readonly deadLetters: ReadonlyArray<{ region: string; queue: string; depth: number }>;
  /** Regions whose control table answered a read. */
  readonly controlReachable: readonly string[];
  readonly alarms: ReadonlyArray<{ name: string; state: string }>;
  readonly map: MapView | undefined;
  /** The latest Repair execution anywhere. */
  readonly lastRepair:
    | { status: string; region: string; at: number; partitionsFailed?: number | undefined }
    | undefined;
}

/** One check's verdict. */
export interface ReadinessCheck {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** Why it failed, or what was seen when it passed. */
  readonly detail: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly at: string;
  readonly checks: readonly ReadinessCheck[];
  readonly objectives: readonly TierProjection[];
}

const check = (id: string, title: string, ok: boolean, detail: string): ReadinessCheck => ({
  id,
  title,
  ok,
  detail,
});

function versionsCheck(s: ReadinessSnapshot): ReadinessCheck {
  const values = Object.entries(s.versions);
  const missing = values.filter(([, v]) => v === undefined).map(([r]) => r);
  const distinct = new Set(values.map(([, v]) => v).filter(Boolean));
  const ok = missing.length === 0 && distinct.size === 1;
  const detail = ok
    ? `every region at ${[...distinct][0]}`
    : missing.length > 0
      ? `version unknown in ${missing.join(', ')}`
      : `different versions: ${values.map(([r, v]) => `${r} ${v}`).join(', ')}`;
  return check('versions', 'every region runs the same version', ok, detail);
}

function healthCheck(s: ReadinessSnapshot): ReadinessCheck {
  const bad = Object.entries(s.health).filter(([, h]) => h !== true);
  return check(
    'health',
    'health checks healthy',
    bad.length === 0,
    bad.length === 0
      ? `${Object.keys(s.health).length} regions healthy`
      : bad.map(([r, h]) => `${r} ${h === undefined ? 'unknown' : 'UNHEALTHY'}`).join(', '),
  );
}

function lagCheck(s: ReadinessSnapshot): ReadinessCheck {
  const limit = s.topology.thresholds.degradeLagMs;
  const bad = s.lag.filter((l) => l.lagMs === undefined || l.lagMs > limit);
  const worst = Math.max(0, ...s.lag.map((l) => l.lagMs ?? 0));
  return check(
    'lag',
    `replication lag under ${limit} ms on every link`,
    bad.length === 0,
    bad.length === 0
      ? `worst link ${Math.round(worst)} ms`
      : bad
          .map(
            (l) => `${l.from} -> ${l.to} ${l.lagMs === undefined ? 'unknown' : `${Math.round(l.lagMs)} ms`}`,
          )
          .join(', '),
  );
}

function deadLetterCheck(s: ReadinessSnapshot): ReadinessCheck {
  const full = s.deadLetters.filter((d) => d.depth > 0);
  return check(
    'dead-letters',
    'dead-letter queues and quarantine empty',
    full.length === 0,
    full.length === 0
      ? `${s.deadLetters.length} queues empty`
      : full.map((d) => `${d.region} ${d.queue}: ${d.depth}`).join(', '),
  );
}

function quorumCheck(s: ReadinessSnapshot): ReadinessCheck {
  const regions = s.topology.regions.map((r) => r.name);
  const ok = s.controlReachable.length >= majorityOf(s.topology);
  const down = regions.filter((r) => !s.controlReachable.includes(r));
  return check(
    'quorum',
    'control quorum (a majority of control tables) reachable',
    ok,
    `${s.controlReachable.length} of ${regions.length} control tables answer${down.length ? ` (not ${down.join(', ')})` : ''}`,
  );
}

function alarmsCheck(s: ReadinessSnapshot): ReadinessCheck {
  const firing = s.alarms.filter((a) => a.state === 'ALARM');
  return check(
    'alarms',
    'no alarm in ALARM',
    firing.length === 0,
    firing.length === 0 ? `${s.alarms.length} alarms OK` : firing.map((a) => a.name).join(', '),
  );
}

function mapCheck(s: ReadinessSnapshot): ReadinessCheck {
  if (!s.map)
    return check('partition-map', 'partition map identical on a majority', false, 'map not readable');
  const { disagreeing, fenced } = s.map;
  const ok = disagreeing.length === 0 && fenced.length === 0;
  const detail = ok
    ? `${s.map.partitions.length} partitions agree on a majority; homes ${JSON.stringify(s.map.perHome)}`
    : [
        disagreeing.length ? `no majority for partitions ${disagreeing.slice(0, 10).join(', ')}` : '',
        fenced.length ? `fenced partitions ${fenced.slice(0, 10).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
  return check('partition-map', 'partition map identical on a majority, nothing fenced', ok, detail);
}

function repairCheck(s: ReadinessSnapshot): ReadinessCheck {
  const last = s.lastRepair;
  if (!last) return check('repair', 'last repair succeeded', true, 'no repair has run yet');
  const ok = last.status === 'SUCCEEDED' && !last.partitionsFailed;
  const when = new Date(last.at).toISOString();
  return check(
    'repair',
    'last repair succeeded',
    ok,
    `${last.status} in ${last.region} at ${when}${last.partitionsFailed ? `, ${last.partitionsFailed} partitions failed` : ''}`,
  );
}

function objectivesCheck(projections: readonly TierProjection[]): ReadinessCheck {
  const missed = projections.filter((p) => !p.met);
  const show = (p: TierProjection) =>
    `${p.tier} RTO ${p.rtoSeconds} s / ${p.declared.rtoSeconds} s, RPO ${p.rpoSeconds} s / ${p.declared.rpoSeconds} s`;
  return check(
    'objectives',
    'declared RTO/RPO per tier achievable',
    missed.length === 0,
    missed.length === 0
      ? projections.map(show).join('; ')
      : missed.map((p) => `${show(p)} (${p.basis})`).join('; '),
  );
}

/**
 * Plan evaluation: what must hold for a failover to succeed, each check with its reason (pure).
 * @example const report = evaluateReadiness(snapshot); if (!report.ready) process.exitCode = 1;
 */
export function evaluateReadiness(snapshot: ReadinessSnapshot, now = new Date()): ReadinessReport {
  const known = snapshot.lag.map((l) => l.lagMs).filter((v): v is number => v !== undefined);
  const objectives = projectObjectives(snapshot.topology, snapshot.timers, {
    maxLagMs: known.length ? Math.max(...known) : undefined,
  });
  const checks = [
    versionsCheck(snapshot),
    healthCheck(snapshot),
    lagCheck(snapshot),
    deadLetterCheck(snapshot),
    quorumCheck(snapshot),
    alarmsCheck(snapshot),
    mapCheck(snapshot),
    repairCheck(snapshot),
    objectivesCheck(objectives),
  ];
  return { ready: checks.every((c) => c.ok), at: now.toISOString(), checks, objectives };
}
