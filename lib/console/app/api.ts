/**
 * Where the console sends its control requests, set by the page that hosts it (`window.multiactiveConsole`):
 * by default the server it came from (the sandbox's control endpoint, `multiactive console --env`); a
 * static copy hosted elsewhere names the admin API and how to authenticate to it.
 */
interface ConsoleConfig {
  readonly controlUrl?: string;
  /** The `Authorization` header of each request (a bearer token of the API's JWT issuer). */
  readonly authorization?: () => Promise<string | undefined>;
}

const config = (): ConsoleConfig =>
  (globalThis as { multiactiveConsole?: ConsoleConfig }).multiactiveConsole ?? {};

/**
 * The console's only way to the platform: one POST of a control request. Authentication belongs here
 * and nowhere else.
 */
export async function control<T>(request: Record<string, unknown>): Promise<T> {
  const { controlUrl = '/', authorization } = config();
  const token = await authorization?.();
  const response = await fetch(controlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as T & { error?: string; message?: string };
  if (!response.ok) throw new Error(body.message ?? body.error ?? `HTTP ${response.status}`);
  return body;
}

export interface RegionStatus {
  region: string;
  down: boolean;
  healthy: boolean;
  traffic?: string;
  degradedPeers: string[];
  breakers?: { service: Record<string, string>; sync: Record<string, { state: string }> };
  deadLetters: number;
  counters: Record<string, number>;
  /** The region's scheduled readiness function: its last evaluation and its alarm's state. */
  readiness?: { ready?: boolean; at?: string; failing?: string[]; alarm?: string };
}
export interface LinkLag {
  from: string;
  to: string;
  samples: number;
  p50Ms?: number;
  p99Ms?: number;
}
export interface Status {
  env: string;
  /** `aws` for a deployed environment (`multiactive console --env`); the sandbox says nothing. */
  target?: 'aws';
  version: string;
  regions: RegionStatus[];
  links: Array<{ from: string; to: string; latencyMs?: number; partitioned?: boolean; down?: boolean }>;
  lag: LinkLag[];
}
export interface Step {
  name: string;
  kind: string;
  startedAt: number;
  endedAt?: number;
  status: 'running' | 'succeeded' | 'failed' | 'aborted';
  visits: number;
  error?: string;
  iterations?: { done: number; failed: number; total?: number };
}
export interface Execution {
  executionArn: string;
  stateMachine: string;
  region: string;
  status: string;
  startDate: string;
  stopDate?: string;
  input: unknown;
  error?: string;
  steps?: Step[];
}
export interface Conflict {
  aggregateType: string;
  aggregateId: string;
  eventIds: [string, string];
  origins: [string, string];
  detectedAt: string;
  regions: string[];
  events: Array<{ eventId: string; type?: string; origin?: string; hlc?: string; payload?: unknown }>;
}
export interface MapView {
  partitions: Array<{ partition: number; home?: string; state?: string; epoch?: number; majority: boolean }>;
  perHome: Record<string, number>;
  fenced: number[];
  disagreeing: number[];
  hot: number[];
  answered: string[];
}
export interface Readiness {
  ready: boolean;
  at: string;
  checks: Array<{ id: string; title: string; ok: boolean; detail: string }>;
}
export interface ReportEntry {
  id: string;
  title: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
}
