import type { HistoryRecorder, OperationName, WrittenEvent } from '../../verify/index.ts';
import type { ApiClient } from '../auth/index.ts';
import { CLIENT_REGION_HEADER } from '../gtm/index.ts';
import { pick } from './random.ts';

/** What the chaos clients use: shared accounts (core) and profiles (important, lww). */
export interface Workload {
  readonly accounts: readonly string[];
  readonly profiles: readonly string[];
}

/** The header a read sends its token in and a write returns it in (lib/routing ROUTING_HEADERS.token). */
const TOKEN_HEADER = 'X-Consistency-Token';

/** One request of a chaos client: the operation it records in the history and the HTTP call it makes. */
export interface Step {
  readonly f: OperationName;
  readonly key: string;
  readonly value: number | string | null;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: { type: string; payload: Record<string, unknown> };
  /** A read: the token of the client's last acknowledged write to the key, and that write's op id. */
  readonly token?: { value: string; of: string };
}

/** The client's latest acknowledged write per key: its token and op id (what its reads must observe). */
type Tokens = Map<string, { value: string; of: string }>;

/** Shares of the operation mix (the rest are deposits and withdrawals). */
const MIX = { profileWrite: 0.2, read: 0.35 } as const;

/** The next operation of a client, drawn from its own seeded stream over the keys it works on. */
function nextStep(random: () => number, keys: Workload, tokens: Tokens, tag: string): Step {
  const roll = random();
  if (roll < MIX.read && tokens.size > 0) {
    const key = pick(random, [...tokens.keys()].sort());
    const [type, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    return { f: 'read', key, value: null, method: 'GET', path: `/v1/${type}/${id}`, token: tokens.get(key)! };
  }
  if (roll < MIX.read + MIX.profileWrite) {
    const id = pick(random, keys.profiles);
    return {
      f: 'write',
      key: `profile/${id}`,
      value: tag,
      method: 'POST',
      path: `/v1/profile/${id}/commands`,
      body: { type: 'SetDisplayName', payload: { displayName: tag } },
    };
  }
  const id = pick(random, keys.accounts);
  const withdraw = random() > 0.55;
  const amount = 1 + Math.floor(random() * (withdraw ? 15 : 9));
  return {
    f: withdraw ? 'withdraw' : 'deposit',
    key: `account/${id}`,
    value: amount,
    method: 'POST',
    path: `/v1/account/${id}/commands`,
    body: { type: withdraw ? 'Withdraw' : 'Deposit', payload: { amount } },
  };
}

/** How one request ended, as recorded: ok (2xx), fail (4xx: nothing written) or info (5xx, timeout: unknown). */
export interface StepOutcome {
  readonly outcome: 'ok' | 'fail' | 'info';
  /** The HTTP status, when an answer came. */
  readonly status?: number;
  /** The error code of a refusal (the body's `error`, or the status), or the name of a transport error. */
  readonly error?: string;
  /** The answer's body (a write's events and state, a read's state). */
  readonly body?: unknown;
}

/** Options of runClient / openAccount. */
export interface ClientContext {
  /** Sends requests with the sandbox's credentials (lib/sandbox/auth). */
  readonly client: ApiClient;
  readonly frontDoor: string;
  /** Where the client is (the front door routes it to the nearest healthy region). */
  readonly from: string;
  readonly process: string;
  readonly history: HistoryRecorder;
  readonly timeoutMs: number;
}

interface Answer {
  readonly error?: string;
  readonly events?: Array<{ eventId?: string; seq?: number; hlc?: string }>;
  readonly state?: { balance?: number; displayName?: string };
  readonly version?: number;
  readonly head?: string | null;
}

/** What an ok'd answer says: the balance (or name) after a write, or the state a read saw. */
function okValue(step: Step, body: Answer): number | string | null {
  if (step.f === 'write' || step.f === 'append') return step.value;
  if (step.f === 'read' && step.key.startsWith('profile/')) return body.state?.displayName ?? null;
  return body.state?.balance ?? null;
}

/** Records a 2xx answer: a write's balance after, event ids and token; a read's state, version and head. */
function recordOk(ctx: ClientContext, step: Step, answer: { body: Answer; region: string; token?: string }) {
  const { body, region, token } = answer;
  const written: WrittenEvent[] = (body.events ?? []).map((e) => ({
    eventId: String(e.eventId),
    seq: Number(e.seq),
    hlc: String(e.hlc),
  }));
  ctx.history.record({
    process: ctx.process,
    f: step.f,
    key: step.key,
    type: 'ok',
    value: okValue(step, body),
    region,
    eventIds: written.map((e) => e.eventId),
    ...(step.f === 'read' ? { version: Number(body.version), head: body.head ?? null } : { written }),
    ...(token && step.f !== 'read' ? { token } : {}),
  });
}

/**
 * Sends one operation and records invoke then ok / fail / info: 2xx is ok (a write's balance after, event
 * ids and token; a read's state, version and head), 4xx a definite refusal (nothing written), 5xx, a
 * timeout or a broken connection info. Every write carries `opId` as its idempotency key, which the API
 * stores as each event's causationId, so the checkers map every stored event to its operation.
 */
export async function perform(
  ctx: ClientContext,
  step: Step,
  opId: string,
  tokens?: Tokens,
): Promise<StepOutcome> {
  const base = { process: ctx.process, f: step.f, key: step.key };
  const read = step.token ? { token: step.token.value, after: step.token.of } : {};
  ctx.history.record({ ...base, type: 'invoke', value: step.value, opId, ...read });
  try {
    const response = await ctx.client.fetch(`${ctx.frontDoor}${step.path}`, {
      method: step.method,
      headers: {
        [CLIENT_REGION_HEADER]: ctx.from,
        ...(step.body ? { 'content-type': 'application/json' } : {}),
        ...(step.token ? { [TOKEN_HEADER]: step.token.value } : {}),
      },
      ...(step.body ? { body: JSON.stringify({ ...step.body, idempotencyKey: opId }) } : {}),
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as Answer;
    const region = response.headers.get('x-multiactive-region') ?? '?';
    if (!response.ok) {
      const type = response.status >= 500 ? 'info' : 'fail';
      ctx.history.record({
        ...base,
        type,
        value: null,
        region,
        error: body.error ?? String(response.status),
      });
      return { outcome: type, status: response.status, error: body.error ?? String(response.status), body };
    }
    const token = response.headers.get(TOKEN_HEADER) ?? undefined;
    recordOk(ctx, step, { body, region, ...(token ? { token } : {}) });
    if (token && step.f !== 'read') tokens?.set(step.key, { value: token, of: opId });
    return { outcome: 'ok', status: response.status, body };
  } catch (error) {
    ctx.history.record({ ...base, type: 'info', value: null, error: (error as Error).name });
    return { outcome: 'info', error: (error as Error).name };
  }
}

/** Opens an account (retrying until it is open or the deadline passes; each try is its own op); true once open. */
export async function openAccount(
  ctx: ClientContext,
  input: { id: string; deadline: number; tag: string },
): Promise<boolean> {
  const step: Step = {
    f: 'open',
    key: `account/${input.id}`,
    value: null,
    method: 'POST',
    path: `/v1/account/${input.id}/commands`,
    body: { type: 'OpenAccount', payload: { owner: input.id, currency: 'EUR' } },
  };
  for (let attempt = 0; Date.now() < input.deadline; attempt++) {
    await perform(ctx, step, `${input.tag}:${ctx.process}:open${attempt}`);
    const last = ctx.history
      .events()
      .filter((e) => e.process === ctx.process)
      .at(-1);
    if (last?.type === 'ok' || last?.error === 'AccountAlreadyOpen') return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/**
 * A client: one operation in flight, a short pause between operations, until `running()` is false. It
 * writes only its own `keys` (so each account has a bounded number of concurrent writers and its history
 * stays small enough to decide) and reads back keys it wrote, with the token of its latest write there.
 */
export async function runClient(
  ctx: ClientContext,
  input: { random: () => number; keys: Workload; running: () => boolean; pauseMs: number; tag: string },
): Promise<void> {
  const tokens: Tokens = new Map();
  for (let turn = 0; input.running(); turn++) {
    const opId = `${input.tag}:${ctx.process}:${turn}`;
    await perform(ctx, nextStep(input.random, input.keys, tokens, opId), opId, tokens);
    await new Promise((r) => setTimeout(r, input.pauseMs * (0.5 + input.random())));
  }
}
