import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { dynamoQuorumPeer, retireCoreBranch } from '../../../lib/commands/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { coreEventsLacking } from '../../../lib/runbooks/core-lacking.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import {
  CoreMarkersNotConfiguredError,
  EventStore,
  readCoreMarkers,
  StateStore,
} from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { tableCell } from './runbook-cells.ts';

const topology = bank.topology('dev');
const deps = { registry: createRegistry(exampleAggregates, topology) };
const PARTITION = 7;

/** A cell whose by-partition index has listed nothing yet (a GSI is eventually consistent). */
function blindCell(name: string, region: TestRegion): RegionCell {
  const events = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  const states = new StateStore({ client: region.doc, tableName: region.tables.state });
  const cell = tableCell({ region: name, tables: region, events, states });
  return { ...cell, source: { listLeaves: async () => [], getEvents: async () => [] } };
}

let a: RegionCell;
let b: RegionCell;
let regionB: TestRegion;

beforeAll(async () => {
  const [ra, rb] = await Promise.all([freshRegion('us-east-1'), freshRegion('eu-west-1')]);
  regionB = rb;
  a = blindCell('us-east-1', ra);
  b = blindCell('eu-west-1', rb);
});

describe('core events one log holds and another lacks, by strongly consistent reads', () => {
  it('counts an acknowledged core event the other region lacks, though the index lists nothing yet', async () => {
    const first = sampleEnvelope({ aggregateId: 'cl-1', partition: PARTITION, seq: 1 });
    const second = sampleEnvelope({ aggregateId: 'cl-1', partition: PARTITION, seq: 2, prev: first.hlc });
    await a.events.appendEvents([first, second], { tier: 'core' });
    await b.events.appendEvents([first], { tier: 'core' });
    const move = { holder: a, other: b, partition: PARTITION };
    expect(await coreEventsLacking(deps, move)).toEqual([second.eventId]);
    expect(await coreEventsLacking(deps, { holder: b, other: a, partition: PARTITION })).toEqual([]);
    await b.events.appendEvents([second], { tier: 'core' });
    expect(await coreEventsLacking(deps, move)).toEqual([]);
  });

  it('reads the log, not the marker: an event retired from the log since is not claimed', async () => {
    const orphan = sampleEnvelope({ aggregateId: 'cl-2', partition: PARTITION, seq: 1 });
    await a.events.appendEvents([orphan], { tier: 'core' });
    expect(await coreEventsLacking(deps, { holder: a, other: b, partition: PARTITION })).toEqual([
      orphan.eventId,
    ]);
    await retireCoreBranch({
      cell: a,
      queues: [a.conflicts],
      aggregate: deps.registry.get('account'),
      losing: [orphan],
      winning: [],
      reason: 'fork',
    });
    const markers = await readCoreMarkers(a.tables.client, a.tables.replication, PARTITION);
    expect(markers).toContainEqual(['account', 'cl-2']);
    expect(await coreEventsLacking(deps, { holder: a, other: b, partition: PARTITION })).toEqual([]);
  });

  it("a quorum copy puts the peer's core marker in its own transaction", async () => {
    const copy = sampleEnvelope({ aggregateId: 'cl-3', partition: PARTITION, seq: 1 });
    const peer = dynamoQuorumPeer({
      region: 'eu-west-1',
      client: regionB.doc,
      tables: {
        events: regionB.tables.events,
        replication: regionB.tables.replication,
        control: regionB.tables.control,
      },
    });
    expect(await peer.copy([copy], { epoch: 0 })).toEqual({ kind: 'stored' });
    const markers = await readCoreMarkers(b.tables.client, b.tables.replication, PARTITION);
    expect(markers).toContainEqual(['account', 'cl-3']);
    expect(await coreEventsLacking(deps, { holder: b, other: a, partition: PARTITION })).toEqual([
      copy.eventId,
    ]);
  });

  it('refuses a core append on a store built without its marker table, and writes nothing', async () => {
    const bare = new EventStore({ client: regionB.doc, tableName: regionB.tables.events });
    const event = sampleEnvelope({ aggregateId: 'cl-4', partition: PARTITION, seq: 1 });
    await expect(bare.appendEvents([event], { tier: 'core' })).rejects.toBeInstanceOf(
      CoreMarkersNotConfiguredError,
    );
    expect(await bare.loadStream('account', 'cl-4')).toEqual([]);
  });
});
