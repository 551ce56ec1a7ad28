import { createServer } from 'node:net';

/**
 * Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close).
 * Another process may take it before the caller binds it; fine for tests and the local sandbox.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
