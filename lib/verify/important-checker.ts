import type { Anomaly } from './anomaly.ts';
import { logOf, mapEffects } from './effects.ts';
import type { Operation } from './history.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** A last-writer-wins register inside an aggregate: events of `eventType` set `field` of the state. */
export interface LwwRegister {
  readonly aggregateType: string;
  readonly eventType: string;
  readonly field: string;
}

/** What the important-tier checker found. */
export interface ImportantCheck {
  readonly anomalies: Anomaly[];
  readonly aggregates: number;
  /** Ok'd writes whose value lost to a later (or concurrent, higher-HLC) write: kept in the log, not in the state. */
  readonly lostToLww: number;
}

/** The same projection row in every region (version, causal head and state). */
function checkConverged(regions: readonly RegionSnapshot[], key: string): Anomaly | undefined {
  const values = regions.map((r) => {
    const row = r.states.get(key);
    return row ? `v${row.version} ${row.head} ${row.state}` : 'none';
  });
  if (values.every((v) => v === values[0])) return undefined;
  return {
    checker: 'important',
    kind: 'divergence',
    key,
    message: regions.map((r, i) => `${r.region}: ${values[i]}`).join(' | '),
  };
}

/** Under lww the state holds the value of the register's highest-HLC event, in every region. */
function checkLww(region: RegionSnapshot, key: string, log: readonly StoredEvent[], reg: LwwRegister) {
  const writes = log.filter((e) => e.type === reg.eventType).sort((a, b) => (a.hlc < b.hlc ? -1 : 1));
  const last = writes.at(-1);
  const row = region.states.get(key);
  if (!last || !row) return undefined;
  const actual = (JSON.parse(row.state) as Record<string, unknown>)[reg.field];
  if (actual === last.payload[reg.field]) return undefined;
  return {
    checker: 'important',
    kind: 'lww-mismatch',
    key,
    region: region.region,
    message: `${reg.field} is ${JSON.stringify(actual)}, the highest-HLC write ${last.hlc} set ${JSON.stringify(last.payload[reg.field])}`,
  } satisfies Anomaly;
}

/**
 * Important tier, after heal: every region holds the same projection row for every aggregate; every
 * event of every log maps to exactly one client write and every ok'd write's event is in every region's
 * log (applied, or kept as lost to lww; see mapEffects); the lww choice is the highest-HLC write everywhere. Writes under `manual` would be accounted for by conflict records (not
 * exercised by the chaos clients, which write lww profiles).
 */
export function checkImportantTier(input: {
  readonly operations: ReadonlyMap<string, readonly Operation[]>;
  readonly regions: readonly RegionSnapshot[];
  readonly registers: readonly LwwRegister[];
}): ImportantCheck {
  const anomalies: Anomaly[] = [];
  let lostToLww = 0;
  const types = new Set(input.registers.map((r) => r.aggregateType));
  const keys = new Set(
    input.regions.flatMap((r) => [...r.states.keys()]).filter((k) => types.has(k.slice(0, k.indexOf('#')))),
  );
  for (const key of keys) {
    const diverged = checkConverged(input.regions, key);
    if (diverged) anomalies.push(diverged);
  }
  for (const [key, ops] of input.operations) {
    const type = key.slice(0, key.indexOf('/'));
    const register = input.registers.find((r) => r.aggregateType === type);
    if (!register) continue;
    const id = key.slice(key.indexOf('/') + 1);
    const writes = ops.filter((o) => o.f !== 'read');
    anomalies.push(
      ...mapEffects({ key, ops: writes, regions: input.regions, checker: 'important' }).anomalies,
    );
    for (const region of input.regions) {
      const lww = checkLww(region, `${type}#${id}`, logOf(region, key), register);
      if (lww) anomalies.push(lww);
    }
    const row = input.regions[0]?.states.get(`${type}#${id}`);
    const value = row ? (JSON.parse(row.state) as Record<string, unknown>)[register.field] : undefined;
    lostToLww += writes.filter((o) => o.outcome === 'ok' && o.input !== value).length;
  }
  return { anomalies, aggregates: keys.size, lostToLww };
}
