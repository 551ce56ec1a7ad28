import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type ControlReplica,
  type RegisterRecord,
  type ReplicaWrite,
  readFromReplica,
  type WriteOutcome,
  writeToReplica,
} from '../../ownership/index.ts';
import type { OriginReader, SeqRange } from '../../replication/index.ts';
import type { PeerRequest, PeerResponse, PeerTransport } from '../../routing/index.ts';
import type { WanNetwork } from '../wan/index.ts';

/**
 * A peer's control table as seen from `from`: every call crosses the WAN link, so a partition or a region
 * that is down makes the replica unreachable, as it would be in AWS.
 */
export class WanControlReplica implements ControlReplica {
  readonly region: string;
  /** The peer's scan across the WAN, when the peer replica scans (one round trip a page in AWS). */
  readonly scan?: <V>(prefix: string) => Promise<ReadonlyMap<string, RegisterRecord<V>>>;

  constructor(
    private readonly from: string,
    private readonly replica: ControlReplica,
    private readonly wan: WanNetwork,
  ) {
    this.region = replica.region;
    const scan = replica.scan?.bind(replica);
    if (scan) this.scan = <V>(prefix: string) => this.roundTrip(() => scan<V>(prefix));
  }

  /** Reads across the WAN (a round trip: the answer comes back over the link too). */
  read<V>(key: string): Promise<RegisterRecord<V> | null> {
    return this.roundTrip(() => this.replica.read<V>(key));
  }

  /** Writes across the WAN. */
  write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    return this.roundTrip(() => this.replica.write(key, record));
  }

  /**
   * A batch read in one round trip: the control table's batch read is BatchGetItem calls of 100 keys
   * sent at once, so from another region it costs one RTT, not one per key.
   */
  readMany<V>(keys: readonly string[]): Promise<ReadonlyMap<string, RegisterRecord<V> | null>> {
    return this.roundTrip(() => readFromReplica<V>(this.replica, keys));
  }

  /** A batch write in one round trip: the control table writes up to 100 items in one TransactWriteItems. */
  async writeMany<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<boolean[]> {
    return (await this.writeOutcomes(items)).map((outcome) => outcome === 'stored');
  }

  /** The batch write with each item's outcome (stored / refused / failed), in one round trip. */
  writeOutcomes<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<WriteOutcome[]> {
    return this.roundTrip(() => writeToReplica(this.replica, items));
  }

  private async roundTrip<T>(call: () => Promise<T>): Promise<T> {
    const result = await this.wan.send(this.from, this.region, call);
    return this.wan.send(this.region, this.from, () => result);
  }
}

/** An origin reader whose reads of another region's store cross the WAN. */
export function wanOriginReader(from: string, reader: OriginReader, wan: WanNetwork): OriginReader {
  return {
    async loadRange(origin: string, range: SeqRange) {
      const events = await wan.send(from, origin, () => reader.loadRange(origin, range));
      return wan.send(origin, from, () => events);
    },
  };
}

/**
 * A peer API transport whose requests and answers cross the WAN: the request travels from `from` to the
 * peer, is served there by `inner` (a fetch to the peer's loopback URL), and the answer travels back.
 */
export class WanPeerTransport implements PeerTransport {
  constructor(
    private readonly from: string,
    private readonly inner: PeerTransport,
    private readonly wan: WanNetwork,
  ) {}

  /** Sends across the WAN; a cut link or a region that is down fails like an unreachable endpoint. */
  async send(region: string, request: PeerRequest, signal?: AbortSignal): Promise<PeerResponse> {
    const response = await this.wan.send(this.from, region, () => this.inner.send(region, request, signal));
    return this.wan.send(region, this.from, () => response);
  }
}

/**
 * A peer region's DynamoDB client as seen from `from`: every `send` crosses the WAN and its answer comes
 * back over the link (the quorum ack's direct writes to a peer's events table use it).
 */
export function wanDocumentClient(
  from: string,
  to: string,
  client: DynamoDBDocumentClient,
  wan: WanNetwork,
): DynamoDBDocumentClient {
  const send = (async (...args: Parameters<DynamoDBDocumentClient['send']>) => {
    const result = await wan.send(from, to, () =>
      (client.send as (...a: typeof args) => Promise<unknown>)(...args),
    );
    return wan.send(to, from, () => result);
  }) as DynamoDBDocumentClient['send'];
  return new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'send' ? send : Reflect.get(target, property, receiver),
  });
}
