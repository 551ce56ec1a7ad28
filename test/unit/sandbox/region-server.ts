import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real local HTTP server standing in for one region's API. */
export interface FakeRegion {
  region: string;
  url: string;
  /** Status that /health answers (200 by default). */
  healthStatus: number;
  /** When set, /health never answers (to exercise probe timeouts). */
  hang: boolean;
  /** Requests seen, as "METHOD path?query". */
  seen: string[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a region server on a free loopback port. */
export async function startRegion(region: string): Promise<FakeRegion> {
  const state = { healthStatus: 200, hang: false, seen: [] as string[] };
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    state.seen.push(`${req.method} ${req.url}`);
    if (req.url === '/health') {
      if (state.hang) return;
      res.writeHead(state.healthStatus).end(state.healthStatus < 400 ? 'ok' : 'down');
      return;
    }
    const body = await readBody(req);
    const payload = JSON.stringify({
      region,
      method: req.method,
      url: req.url,
      body,
      clientRegion: req.headers['x-client-region'] ?? null,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': region }).end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeRegion = {
    region,
    url: `http://127.0.0.1:${port}`,
    get healthStatus() {
      return state.healthStatus;
    },
    set healthStatus(v: number) {
      state.healthStatus = v;
    },
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    seen: state.seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
