import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoQuorumPeer, readQuorumMarkers } from '../../../lib/commands/index.ts';
import { partitionKey, REGISTER_SORT_KEY } from '../../../lib/ownership/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

async function peerRegion() {
  const region = await freshRegion('eu-west-1');
  const peer = dynamoQuorumPeer({ region: 'eu-west-1', client: region.doc, tables: region.tables });
  return { region, peer };
}

/** A core log of `n` events of one aggregate, each on top of the previous one. */
function chain(aggregateId: string, n: number, origin = 'us-east-1', epoch = 3) {
  const events = [];
  let prev: string | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const event = sampleEnvelope({ aggregateId, seq, prev, origin, epoch, partition: 9 });
    events.push(event);
    prev = event.hlc;
  }
  return events;
}

describe('dynamoQuorumPeer: the copy transaction a quorum ack sends a peer', () => {
  it('stores a run on top of its predecessor, idempotently, and leaves a marker a failover can list', async () => {
    const { region, peer } = await peerRegion();
    const [a, b, c] = chain('qp-chain', 3);
    expect(await peer.copy([a!], { epoch: 3 })).toEqual({ kind: 'stored' });
    expect(await peer.copy([b!, c!], { epoch: 3 })).toEqual({ kind: 'stored' });
    expect(await peer.copy([b!, c!], { epoch: 3 })).toEqual({ kind: 'stored' });
    expect((await peer.eventsFrom('account', 'qp-chain', 2)).map((e) => e.seq)).toEqual([2, 3]);
    expect(await readQuorumMarkers(region.doc, region.tables.replication, 9)).toEqual([
      { aggregateType: 'account', aggregateId: 'qp-chain', seq: 3, hlc: c!.hlc },
    ]);
  });

  it('refuses a run whose predecessor is missing or another event (behind), and a taken slot (conflict)', async () => {
    const { peer } = await peerRegion();
    const [a, b, c] = chain('qp-refuse', 3);
    expect(await peer.copy([c!], { epoch: 3 })).toEqual({ kind: 'behind' });
    await peer.copy([a!], { epoch: 3 });
    const other = sampleEnvelope({ aggregateId: 'qp-refuse', seq: 2, prev: a!.hlc, partition: 9 });
    expect(await peer.copy([other], { epoch: 3 })).toEqual({ kind: 'stored' });
    expect(await peer.copy([c!], { epoch: 3 })).toEqual({ kind: 'behind' });
    const outcome = await peer.copy([b!], { epoch: 3 });
    expect(outcome).toMatchObject({ kind: 'conflict', existing: { eventId: other.eventId } });
  });

  it('is sealed against a writer whose epoch its copy of the partition map has passed', async () => {
    const { region, peer } = await peerRegion();
    await region.doc.send(
      new PutCommand({
        TableName: region.tables.control,
        Item: { pk: partitionKey(9), sk: REGISTER_SORT_KEY, epoch: 4, ballot: 'b', value: {} },
      }),
    );
    const [a] = chain('qp-sealed', 1);
    expect(await peer.copy([a!], { epoch: 3 })).toEqual({ kind: 'sealed' });
    expect(await peer.eventsFrom('account', 'qp-sealed', 1)).toEqual([]);
    expect(await peer.copy([a!], { epoch: 4 })).toEqual({ kind: 'stored' });
  });
});
