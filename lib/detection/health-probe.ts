/**
 * What a region's /health answer means to an observer (a watchdog, the Failover runbook's vote):
 * `up` (serving), `drained` (503 on purpose: alive, withdrawn from DNS, no failover wanted) or `down`
 * (no answer, a timeout, an error, or a 503 that is not a drain: the region cannot write).
 */
export type ProbeVerdict = 'up' | 'drained' | 'down';

export interface ProbeResult {
  readonly verdict: ProbeVerdict;
  /** The status and reason, or the network error: for logs and the watchdog's observations. */
  readonly detail: string;
}

type HealthBody = { status?: unknown; reason?: unknown; traffic?: { state?: unknown } };

/** Reads an HTTP answer of /health. */
export function classifyHealthAnswer(status: number, body: unknown): ProbeResult {
  const report = (typeof body === 'object' && body !== null ? body : {}) as HealthBody;
  const reason = typeof report.reason === 'string' ? `: ${report.reason}` : '';
  if (status >= 200 && status < 300) return { verdict: 'up', detail: `HTTP ${status}` };
  // A drain is deliberate only while the region can write: `status` says so (older bodies: traffic).
  const drained =
    status === 503 &&
    (report.status === 'drained' || (report.status === undefined && report.traffic?.state === 'drained'));
  if (drained) return { verdict: 'drained', detail: `HTTP 503 drained${reason}` };
  const what = typeof report.status === 'string' ? ` ${report.status}` : '';
  return { verdict: 'down', detail: `HTTP ${status}${what}${reason}` };
}

/**
 * GETs a region's /health with a timeout and classifies the answer; a network error or timeout is
 * `down`.
 * @example const { verdict } = await probeHealth('https://eu-west-1.example.com/health', { timeoutMs: 2_000 });
 */
export async function probeHealth(
  url: string,
  options: { readonly timeoutMs: number; readonly fetch?: typeof globalThis.fetch },
): Promise<ProbeResult> {
  const fetcher = options.fetch ?? globalThis.fetch;
  try {
    const response = await fetcher(url, {
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { 'user-agent': 'multiactive-watchdog' },
      redirect: 'manual',
    });
    const body = await response.json().catch(() => undefined);
    return classifyHealthAnswer(response.status, body);
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const detail =
      name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : String((error as Error).message);
    return { verdict: 'down', detail };
  }
}
