import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { GtmConfigError } from './errors.ts';
import type { Router } from './router.ts';

/** Header naming the region the front door chose. */
export const REGION_HEADER = 'x-multiactive-region';
/** Header a client may set to say where it is (a region name); `?from=` works too. */
export const CLIENT_REGION_HEADER = 'x-client-region';

/** Options of a FrontDoor. */
export interface FrontDoorOptions {
  router: Router;
  /** Base URL of each region's API, e.g. `{ 'eu-west-1': 'http://127.0.0.1:4002' }`. */
  endpoints: Readonly<Record<string, string>>;
  /** `redirect` answers 307 + Location; `proxy` forwards the request and streams the answer back. */
  mode: 'redirect' | 'proxy';
}

// Hop-by-hop headers (RFC 9110 §7.6.1) must not be forwarded by a proxy. Host is kept: with DNS the
// client reaches the region under the name it asked for, and a SigV4 signature covers that name.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function clientRegion(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers[CLIENT_REGION_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value || url.searchParams.get('from') || undefined;
}

function forwardable(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * The GTM's HTTP entry point on a loopback port: routes each request with the Router and either redirects
 * the client to the chosen region (307 keeps the method and body) or proxies to it.
 * @example
 * const door = new FrontDoor({ router, endpoints, mode: 'redirect' });
 * const url = await door.listen();
 */
export class FrontDoor {
  private readonly server: Server;
  private readonly options: FrontDoorOptions;

  constructor(options: FrontDoorOptions) {
    for (const region of options.router.regions) {
      if (!options.endpoints[region]) throw new GtmConfigError(`No endpoint for region ${region}`);
    }
    this.options = options;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** Starts listening (port 0 = any free port) and resolves with the front door's base URL. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.url);
      });
    });
  }

  /** The base URL it listens on. */
  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address}:${port}`;
  }

  /** Stops accepting connections, closes idle keep-alive ones and resolves when all are closed. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeIdleConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const incoming = new URL(req.url ?? '/', 'http://front-door');
    const region = this.options.router.route({ from: clientRegion(req, incoming) });
    const base = new URL(this.options.endpoints[region] as string);
    const target = new URL(`${base.pathname.replace(/\/$/, '')}${incoming.pathname}${incoming.search}`, base);
    res.setHeader(REGION_HEADER, region);
    if (this.options.mode === 'redirect') {
      res.writeHead(307, { location: target.href, 'content-length': '0' }).end();
      return;
    }
    this.proxy(req, res, region, target);
  }

  private proxy(req: IncomingMessage, res: ServerResponse, region: string, target: URL): void {
    const end = this.options.router.begin(region);
    res.once('close', end);
    const upstream = httpRequest(
      target,
      { method: req.method, headers: forwardable(req.headers) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.once('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      const body = JSON.stringify({ message: `Region ${region} did not answer: ${error.message}` });
      res
        .writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        .end(body);
    });
    req.pipe(upstream);
  }
}
