import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { consoleAsset } from '../../lib/console/assets.ts';
import type { AdminControl, AdminRequest } from '../../lib/ops/admin-control.ts';
import { UsageError } from '../../lib/ops/errors.ts';

async function body(request: IncomingMessage): Promise<AdminRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as AdminRequest).action !== 'string')
    throw new UsageError('a control request is a JSON object with an action');
  return parsed as AdminRequest;
}

function send(res: ServerResponse, status: number, type: string, payload: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(payload);
}

/**
 * `multiactive console --env <env>`: the web console's static files, and its control requests answered
 * from the deployed environment (`awsAdminControl`) with the operator's AWS credentials. Loopback only:
 * whoever can open it acts with those credentials, as with the CLI itself.
 */
export async function serveConsole(
  control: AdminControl,
  port = 0,
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    try {
      if (req.method === 'GET') {
        const asset = await consoleAsset(new URL(req.url ?? '/', 'http://localhost').pathname);
        return asset ? send(res, 200, asset.type, asset.body) : send(res, 404, 'text/plain', 'not found');
      }
      send(res, 200, 'application/json', JSON.stringify(await control(await body(req))));
    } catch (error) {
      const usage = error instanceof UsageError || error instanceof SyntaxError;
      send(
        res,
        usage ? 400 : 502,
        'application/json',
        JSON.stringify({ error: (error as Error).name, message: (error as Error).message }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/` };
}
