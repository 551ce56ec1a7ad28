import { describe, expect, it } from 'vitest';
import { dynamoQuorumPeer } from '../../../lib/commands/index.ts';
import { wanDocumentClient } from '../../../lib/sandbox/platform/wan-adapters.ts';
import { WanNetwork } from '../../../lib/sandbox/wan/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

describe("the sandbox's quorum-ack peer: a peer region's tables across the WAN", () => {
  it('writes to the peer while the link is up and fails like an unreachable region when it is cut', async () => {
    const peer = await freshRegion('eu-west-1');
    const wan = new WanNetwork({ regions: ['us-east-1', 'eu-west-1'], timeScale: 0.01 });
    const quorumPeer = dynamoQuorumPeer({
      region: 'eu-west-1',
      client: wanDocumentClient('us-east-1', 'eu-west-1', peer.doc, wan),
      tables: peer.tables,
    });
    const stored = new EventStore({ client: peer.doc, tableName: peer.tables.events });
    const first = sampleEnvelope({ aggregateId: 'qp-1', seq: 1 });
    expect(await quorumPeer.copy([first], { epoch: 0 })).toEqual({ kind: 'stored' });
    expect((await stored.loadStream(first.aggregateType, 'qp-1')).map((e) => e.eventId)).toEqual([
      first.eventId,
    ]);
    const crossings = wan.stats().delivered;
    expect(crossings).toBeGreaterThanOrEqual(2); // there and back

    wan.partition('us-east-1', 'eu-west-1');
    const second = sampleEnvelope({ aggregateId: 'qp-1', seq: 2, prev: first.hlc });
    await expect(quorumPeer.copy([second], { epoch: 0 })).rejects.toThrow(/eu-west-1/);
    expect(await stored.loadStream(first.aggregateType, 'qp-1')).toHaveLength(1);
    wan.close();
  });
});
