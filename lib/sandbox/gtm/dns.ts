import type { RemoteInfo } from 'node:dgram';
import { isIPv4 } from 'node:net';
import dns2 from 'dns2';
import { GtmConfigError } from './errors.ts';
import type { Router } from './router.ts';

const { Packet } = dns2;

/** DNS response code for "no such name" (RFC 1035 §4.1.1). */
const NXDOMAIN = 3;

/** Options of a GtmDnsServer. */
export interface GtmDnsOptions {
  router: Router;
  /** The name it is authoritative for, e.g. `api.multiactive.local`. */
  name: string;
  /** Address answered for each region; by default 127.0.0.11, .12, .13... in region order. */
  addresses?: Readonly<Record<string, string>>;
  /** TTL of the answers in seconds (60, Route 53's usual recommendation). */
  ttl?: number;
  /**
   * Where a query comes from, as a region name. By default a query sent from one of the regions'
   * addresses (a resolver bound to 127.0.0.12, say) is taken to come from that region.
   */
  clientRegion?: (client: RemoteInfo) => string | undefined;
}

/** The default loopback address of the i-th region: 127.0.0.11, 127.0.0.12, ... */
export function defaultRegionAddresses(regions: readonly string[]): Record<string, string> {
  return Object.fromEntries(regions.map((region, i) => [region, `127.0.0.${11 + i}`]));
}

const normalize = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/**
 * A tiny authoritative DNS server (UDP, dns2) for the GTM name: `A` answers the chosen region's address,
 * `TXT` its name. Other names get NXDOMAIN; other record types an empty answer.
 * @example
 * const dns = new GtmDnsServer({ router, name: 'api.multiactive.local' });
 * const port = await dns.listen();
 */
export class GtmDnsServer {
  private readonly options: GtmDnsOptions;
  private readonly addresses: Readonly<Record<string, string>>;
  private readonly regionByAddress: Map<string, string>;
  private readonly server: ReturnType<typeof dns2.createServer>;
  private readonly name: string;

  constructor(options: GtmDnsOptions) {
    this.options = options;
    this.name = normalize(options.name);
    this.addresses = options.addresses ?? defaultRegionAddresses(options.router.regions);
    for (const region of options.router.regions) {
      const address = this.addresses[region];
      if (!address || !isIPv4(address)) throw new GtmConfigError(`No IPv4 address for region ${region}`);
    }
    this.regionByAddress = new Map(
      Object.entries(this.addresses).map(([region, address]) => [address, region]),
    );
    this.server = dns2.createServer({
      udp: true,
      handle: (request, send, client) => void send(this.answer(request, client as RemoteInfo)),
    });
  }

  /** Listens on UDP (port 0 = any free port) and resolves with the port. */
  async listen(port = 0, address = '127.0.0.1'): Promise<number> {
    const bound = await this.server.listen({ udp: { port, address } });
    const udp = bound.udp ?? this.server.addresses().udp;
    if (!udp) throw new GtmConfigError('The DNS server did not bind a UDP port');
    return udp.port;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.server.close();
  }

  private answer(request: InstanceType<typeof Packet>, client: RemoteInfo): InstanceType<typeof Packet> {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const ttl = this.options.ttl ?? 60;
    for (const question of request.questions) {
      if (normalize(question.name) !== this.name) {
        response.header.rcode = NXDOMAIN;
        continue;
      }
      if (question.type !== Packet.TYPE.A && question.type !== Packet.TYPE.TXT) continue;
      const from = this.options.clientRegion
        ? this.options.clientRegion(client)
        : this.regionByAddress.get(client.address);
      const region = this.options.router.route({ from });
      const record =
        question.type === Packet.TYPE.A ? { address: this.addresses[region] as string } : { data: region };
      response.answers.push(
        Packet.createResourceFromQuestion(question, { ...record, class: Packet.CLASS.IN, ttl }),
      );
    }
    return response;
  }
}
