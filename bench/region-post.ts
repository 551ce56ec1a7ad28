import type { Sandbox } from '../lib/sandbox/platform/sandbox.ts';

/** POSTs JSON to one region's own API (no front door, no redirect followed); the answer's status. */
export async function postToRegion(
  sandbox: Sandbox,
  region: string,
  path: string,
  body: unknown,
): Promise<number> {
  const response = await sandbox.apiClient.fetch(`${sandbox.region(region).apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    followRedirects: false,
  });
  await response.arrayBuffer();
  return response.status;
}
