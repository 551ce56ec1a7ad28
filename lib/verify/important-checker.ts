import type { Anomaly } from './anomaly.ts';
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

/** Every ok'd write of one aggregate is in the region's log, and the lww choice is right there. */
function checkWrites(input: {
  key: string;
  type: string;
  id: string;
  ops: readonly Operation[];
  region: RegionSnapshot;
  register: LwwRegister;
}): Anomaly[] {
  const { key, type, id, region } = input;
  const found: Anomaly[] = [];
  const log = region.events.filter((e) => e.aggregateType === type && e.aggregateId === id);
  const ids = new Set(log.map((e) => e.eventId));
  for (const op of input.ops.filter((o) => o.outcome === 'ok'))
    for (const eventId of op.eventIds.filter((e) => !ids.has(e)))
      found.push({
        checker: 'important',
        kind: 'lost-write',
        key,
        region: region.region,
        message: `ok'd write ${JSON.stringify(op.input)} (op ${op.id}, event ${eventId}) is missing`,
      });
  const lww = checkLww(region, `${type}#${id}`, log, input.register);
  if (lww) found.push(lww);
  return found;
}

/**
 * Important tier, after heal: every region holds the same projection row for every aggregate; every
 * ok'd write's event is in every region's log (applied, or kept as lost to lww); the lww choice is the
 * highest-HLC write everywhere. Writes under `manual` would be accounted for by conflict records (not
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
    for (const region of input.regions)
      anomalies.push(...checkWrites({ key, type, id, ops, region, register }));
    const row = input.regions[0]?.states.get(`${type}#${id}`);
    const value = row ? (JSON.parse(row.state) as Record<string, unknown>)[register.field] : undefined;
    lostToLww += ops.filter((o) => o.outcome === 'ok' && o.input !== value).length;
  }
  return { anomalies, aggregates: keys.size, lostToLww };
}
