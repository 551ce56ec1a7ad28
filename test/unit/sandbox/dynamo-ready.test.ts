import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answersDynamoDb } from '../../../lib/sandbox/dynamodb/local.ts';

let server: Server | undefined;

async function serve(status: number, body: string): Promise<number> {
  const listening = createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    response.end(body);
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return (listening.address() as AddressInfo).port;
}

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('DynamoDB Local readiness: the port answering is not enough', () => {
  it('is ready when the server answers as DynamoDB does, even with a 4xx', async () => {
    const port = await serve(400, '{"__type":"com.amazonaws.dynamodb.v20120810#MissingAuthenticationToken"}');
    expect(await answersDynamoDb(port)).toBe(true);
  });

  it('is not ready while the server behind the port answers 5xx or a body that is not JSON', async () => {
    expect(await answersDynamoDb(await serve(500, '{}'))).toBe(false);
    await new Promise((resolve) => server?.close(resolve));
    expect(await answersDynamoDb(await serve(200, '<html>starting</html>'))).toBe(false);
  });
});
