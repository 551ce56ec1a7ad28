import type { RegionCapacity } from './capacity.ts';
import { usd } from './money.ts';
import type { TrafficProfile } from './profile.ts';
import { type CostReport, type OptionColumn, servicesOf } from './report.ts';
import type { Service } from './usage-types.ts';

const rate = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 10) / 10);
const seconds = (s: number) =>
  !Number.isFinite(s) ? 'operator' : s >= 3600 ? `${Math.round(s / 360) / 10} h` : `${Math.round(s)} s`;

/** A fixed-width table: the first column left-aligned, the others right-aligned. */
export function table(rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const SHORT: Readonly<Record<string, string>> = {
  multiactive: 'multiactive',
  'global-tables-eventual': 'GT eventual',
  'global-tables-strong': 'GT strong',
  'single-region-backups': '1 region+backups',
  'warm-standby': 'warm standby',
};

function trafficLines(profile: TrafficProfile, tiers: Readonly<Record<string, string>>): string[] {
  return [
    `traffic "${profile.name}" (all regions together; ${profile.historyMonths} months of history held):`,
    ...Object.entries(profile.aggregates).map(
      ([type, t]) =>
        `  ${type} (${tiers[type] ?? '?'}): ${rate(t.writesPerSecond)} writes/s x ${t.eventsPerWrite} event of ${t.eventBytes} B, ${rate(t.readsPerSecond)} reads/s`,
    ),
    ...Object.entries(profile.sagas)
      .filter(([, s]) => s.perSecond > 0)
      .map(
        ([name, s]) =>
          `  ${name} (saga): ${rate(s.perSecond)}/s begun and confirmed, ${Math.round(100 * s.crossRegionShare)} % across regions`,
      ),
  ];
}

function optionsTable(options: readonly OptionColumn[]): string[] {
  const services = servicesOf(options.map((o) => o.byService));
  const head = ['month (USD)', ...options.map((o) => SHORT[o.option] ?? o.option)];
  const money = (o: OptionColumn, s: Service) => ((o.byService[s] ?? 0) > 0 ? usd(o.byService[s] ?? 0) : '-');
  const recovery = (what: 'rtoSeconds' | 'rpoSeconds', tier: string) => [
    `${what === 'rtoSeconds' ? 'RTO' : 'RPO'} ${tier}`,
    ...options.map((o) => seconds(o.recovery[tier]?.[what] ?? Number.NaN)),
  ];
  return table([
    head,
    ...services.map((s) => [s, ...options.map((o) => money(o, s))]),
    ['total', ...options.map((o) => `${usd(o.total)}${o.available ? '' : ' (n/a)'}`)],
    ...['core', 'important', 'ordinary'].flatMap((tier) => [
      recovery('rtoSeconds', tier),
      recovery('rpoSeconds', tier),
    ]),
  ]);
}

function regionTable(report: CostReport): string[] {
  const regions = Object.keys(report.byRegionService);
  const services = servicesOf(Object.values(report.byRegionService));
  return table([
    ['month (USD)', ...regions],
    ...services.map((s) => [s, ...regions.map((r) => usd(report.byRegionService[r]?.[s] ?? 0))]),
    ['total', ...regions.map((r) => usd(report.cost.byRegion[r] ?? 0))],
  ]);
}

/** The human form of `multiactive cost`. */
export function costLines(report: CostReport): string[] {
  const tiers = Object.fromEntries(report.recommendations.map((r) => [r.type, r.tier]));
  const byTier = report.cost.byTier;
  return [
    `multiactive cost: ${report.env}, ${Object.keys(report.byRegionService)
      .filter((r) => r !== 'global')
      .join(', ')}`,
    `prices: AWS list prices as of ${report.prices.asOf} (${report.prices.files.join(' + ')}): on-demand, no free tier, no discounts`,
    ...trafficLines(report.profile, tiers),
    '',
    'Monthly cost per service, next to the alternatives for the same traffic (GT: DynamoDB global tables):',
    ...optionsTable(report.options),
    ...report.options
      .filter((o) => o.notes.length > 0)
      .map((o) => `  ${SHORT[o.option] ?? o.option}: ${o.notes.join('; ')}`),
    '',
    'multiactive per region and service:',
    ...regionTable(report),
    '',
    `multiactive per tier: core ${usd(byTier.core ?? 0)}, important ${usd(byTier.important ?? 0)}, ordinary ${usd(byTier.ordinary ?? 0)}, shared platform ${usd(byTier.platform ?? 0)} (heartbeats, health checks, watchdogs, readiness, alarms, dashboards, keys)`,
    '',
    ...sagaLines(report),
    'Recommendation per aggregate type:',
    ...report.recommendations.map((r) => `  ${r.type} (${r.tier}, conflict ${r.conflict}): ${r.reason}`),
  ];
}

/** Each saga type's share of the month and its cost per saga, by service (largest first). */
function sagaLines(report: CostReport): string[] {
  return report.sagas.flatMap((s) => {
    const services = Object.entries(s.byService)
      .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
      .map(([service, month]) => `${service} ${usd(month ?? 0)}`);
    return [
      `${s.saga} sagas at ${rate(s.perSecond)}/s add ${usd(s.month)} a month: $${s.perSaga.toFixed(5)} per ${s.saga} (${services.join(', ')})`,
      '',
    ];
  });
}

/** The human form of `multiactive capacity`. */
export function capacityLines(env: string, regions: readonly RegionCapacity[]): string[] {
  const limit = (w: number) => (Number.isFinite(w) ? `${rate(w)} writes/s` : 'not on the write path');
  return [
    `multiactive capacity: ${env}: client writes per second a region takes before each limit binds (the profile's mix scaled)`,
    ...regions.flatMap((r) => [
      '',
      `${r.region}: ${rate(r.writesNow)} writes/s now; first limit at ${limit(r.first.writesPerSecond)}: ${r.first.name}`,
      `  raise: ${r.first.raise}`,
      ...table([
        ['limit', 'quota', 'used now', 'binds at'],
        ...[...r.limits]
          .sort((a, b) => a.writesPerSecond - b.writesPerSecond)
          .map((l) => [`  ${l.name}`, rate(l.quota), rate(l.usedNow), limit(l.writesPerSecond)]),
      ]),
    ]),
  ];
}
