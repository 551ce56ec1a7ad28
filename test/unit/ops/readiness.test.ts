import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology } from '../../../lib/config/index.ts';
import { awsTimers, projectObjectives } from '../../../lib/ops/objectives.ts';
import { summarizeMap, viewOf } from '../../../lib/ops/partition-view.ts';
import { evaluateReadiness, type ReadinessSnapshot } from '../../../lib/ops/readiness.ts';

const topology = bank.topology('dev');
const regions = topology.regions.map((r) => r.name);
const record = (home: string, epoch = 1) => ({
  epoch,
  ballot: `b${epoch}`,
  value: { home, state: 'active' as const, activeFrom: 0 },
});

function healthy(): ReadinessSnapshot {
  const copies = new Map(regions.map((r) => [r, new Map([['PARTITION#0', record('us-east-1')]])]));
  const views = [viewOf(0, copies, 3), viewOf(1, copies, 3)];
  return {
    topology,
    timers: {
      healthIntervalSeconds: 0.5,
      failureThreshold: 3,
      failoverStartSeconds: 1,
      dnsTtlSeconds: 0,
      failoverSeconds: 10,
      holdSeconds: 2.3,
    },
    versions: Object.fromEntries(regions.map((r) => [r, 'abc'])),
    health: Object.fromEntries(regions.map((r) => [r, true])),
    lag: regions.flatMap((from) =>
      regions.filter((to) => to !== from).map((to) => ({ from, to, lagMs: 300 })),
    ),
    deadLetters: regions.map((r) => ({ region: r, queue: 'quarantine', depth: 0 })),
    controlReachable: regions,
    alarms: regions.map((r) => ({ name: `multiactive-dev-health-${r}`, state: 'OK' })),
    map: summarizeMap(views, regions, 3),
    lastRepair: { status: 'SUCCEEDED', region: 'us-east-1', at: 0, partitionsFailed: 0 },
  };
}

const failing = (s: ReadinessSnapshot) => evaluateReadiness(s).checks.filter((c) => !c.ok);

describe('evaluateReadiness', () => {
  it('is ready when every check passes', () => {
    const report = evaluateReadiness(healthy());
    expect(report.checks.map((c) => c.id)).toEqual([
      'versions',
      'health',
      'lag',
      'dead-letters',
      'quorum',
      'alarms',
      'partition-map',
      'repair',
      'objectives',
    ]);
    expect(failing(healthy())).toEqual([]);
    expect(report.ready).toBe(true);
  });

  it('names a killed region in every check it breaks', () => {
    const s = healthy();
    const killed: ReadinessSnapshot = {
      ...s,
      versions: { ...s.versions, 'ap-southeast-1': undefined },
      health: { ...s.health, 'ap-southeast-1': false },
      lag: s.lag.map((l) => (l.to === 'ap-southeast-1' ? { ...l, lagMs: undefined } : l)),
      alarms: s.alarms.map((a) => (a.name.endsWith('ap-southeast-1') ? { ...a, state: 'ALARM' } : a)),
      controlReachable: ['us-east-1', 'eu-west-1'],
    };
    const report = evaluateReadiness(killed);
    expect(report.ready).toBe(false);
    expect(failing(killed).map((c) => [c.id, c.detail])).toEqual([
      ['versions', 'version unknown in ap-southeast-1'],
      ['health', 'ap-southeast-1 UNHEALTHY'],
      ['lag', 'us-east-1 -> ap-southeast-1 unknown, eu-west-1 -> ap-southeast-1 unknown'],
      ['alarms', 'multiactive-dev-health-ap-southeast-1'],
    ]);
  });

  it('fails on a lagging link, naming it and its lag', () => {
    const s = healthy();
    const lagging = {
      ...s,
      lag: s.lag.map((l) => (l.from === 'us-east-1' && l.to === 'eu-west-1' ? { ...l, lagMs: 12_000 } : l)),
    };
    const bad = failing(lagging);
    expect(bad.find((c) => c.id === 'lag')?.detail).toBe('us-east-1 -> eu-west-1 12000 ms');
    // 12 s of lag also breaks dev's declared core RPO of 10 s (core.ack local).
    expect(bad.find((c) => c.id === 'objectives')?.detail).toMatch(/^core RTO .* RPO 12 s \/ 10 s/);
  });

  it('fails without a majority for a partition, on a fenced one, on dead letters and a failed repair', () => {
    const s = healthy();
    const split = new Map([
      ['us-east-1', new Map([['PARTITION#0', record('us-east-1', 1)]])],
      ['eu-west-1', new Map([['PARTITION#0', record('eu-west-1', 2)]])],
    ]);
    const bad = failing({
      ...s,
      map: summarizeMap([viewOf(0, split, 3)], regions, 3),
      deadLetters: [{ region: 'eu-west-1', queue: 'quarantine', depth: 2 }],
      lastRepair: { status: 'FAILED', region: 'us-east-1', at: 0 },
    });
    expect(bad.map((c) => c.id)).toEqual(['dead-letters', 'partition-map', 'repair']);
    expect(bad[1]!.detail).toBe('no majority for partitions 0');
  });
});

describe('projectObjectives', () => {
  it('projects core RTO as the later of DNS withdrawal and watchdogs + Failover + hold, and RPO 0 only with quorum ack', () => {
    const prod = bank.topology('prod');
    const [core] = projectObjectives(prod, awsTimers(prod), { maxLagMs: 800 });
    // Watchdogs: 10 s of heartbeat silence + a 5 s tick, then 3 round trips of 220 ms and 100 ms to start.
    expect(awsTimers(prod).failoverStartSeconds).toBe(15.76);
    expect(core).toMatchObject({
      tier: 'core',
      rtoSeconds: Math.max(10 * 3 + 15, 15.8 + 10 + 7),
      rpoSeconds: 0,
      met: true,
    });
    const [devCore] = projectObjectives(topology, awsTimers(topology), { maxLagMs: 800 });
    expect(devCore).toMatchObject({ rpoSeconds: 0.8, met: true });
    // A slow Failover makes the server path the later one.
    const [slow] = projectObjectives(prod, { ...awsTimers(prod), failoverSeconds: 60 }, { maxLagMs: 0 });
    expect(slow!.rtoSeconds).toBe(Math.round((15.76 + 60 + 7) * 10) / 10);
  });

  it('says an RTO needs an operator when automatic failover is off', () => {
    const manual = parseTopology({ ...topology, gtm: { ...topology.gtm, autoFailover: false } });
    const [core] = projectObjectives(manual, awsTimers(manual), { maxLagMs: 100 });
    expect(core).toMatchObject({ rtoSeconds: Number.POSITIVE_INFINITY, met: false });
    expect(core!.basis).toContain('operator');
  });
});
