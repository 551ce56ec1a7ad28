import type { HistoryRecorder, OperationName } from '../../verify/index.ts';
import type { ApiClient } from '../auth/index.ts';
import { CLIENT_REGION_HEADER } from '../gtm/index.ts';
import { pick } from './random.ts';

/** What the chaos clients write: a few shared accounts (core) and profiles (important, lww). */
export interface Workload {
  readonly accounts: readonly string[];
  readonly profiles: readonly string[];
}

interface Step {
  readonly f: OperationName;
  readonly key: string;
  readonly value: number | string | null;
  readonly path: string;
  readonly body: { type: string; payload: Record<string, unknown> };
}

/** The next operation of a client, drawn from its own seeded stream. */
function nextStep(random: () => number, workload: Workload, tag: string): Step {
  const roll = random();
  if (roll < 0.25) {
    const id = pick(random, workload.profiles);
    return {
      f: 'write',
      key: `profile/${id}`,
      value: tag,
      path: `/v1/profile/${id}/commands`,
      body: { type: 'SetDisplayName', payload: { displayName: tag } },
    };
  }
  const id = pick(random, workload.accounts);
  const withdraw = roll > 0.65;
  const amount = 1 + Math.floor(random() * (withdraw ? 15 : 9));
  return {
    f: withdraw ? 'withdraw' : 'deposit',
    key: `account/${id}`,
    value: amount,
    path: `/v1/account/${id}/commands`,
    body: { type: withdraw ? 'Withdraw' : 'Deposit', payload: { amount } },
  };
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
  readonly events?: Array<{ eventId?: string }>;
  readonly state?: { balance?: number };
}

/**
 * Sends one command and records invoke then ok / fail / info: 2xx is ok (with the balance after and the
 * event ids), 4xx a definite refusal (nothing written), 5xx, a timeout or a broken connection info.
 */
export async function perform(ctx: ClientContext, step: Step): Promise<void> {
  const base = { process: ctx.process, f: step.f, key: step.key };
  ctx.history.record({ ...base, type: 'invoke', value: step.value });
  try {
    const response = await ctx.client.fetch(`${ctx.frontDoor}${step.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [CLIENT_REGION_HEADER]: ctx.from },
      body: JSON.stringify(step.body),
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as Answer;
    const region = response.headers.get('x-multiactive-region') ?? '?';
    if (response.ok) {
      const eventIds = (body.events ?? []).map((e) => String(e.eventId));
      const value = step.f === 'write' ? step.value : (body.state?.balance ?? null);
      ctx.history.record({ ...base, type: 'ok', value, region, eventIds });
    } else {
      const type = response.status >= 500 ? 'info' : 'fail';
      ctx.history.record({
        ...base,
        type,
        value: null,
        region,
        error: body.error ?? String(response.status),
      });
    }
  } catch (error) {
    ctx.history.record({ ...base, type: 'info', value: null, error: (error as Error).name });
  }
}

/** Opens an account (retrying refusals until it is open or the deadline passes). */
export async function openAccount(ctx: ClientContext, id: string, deadline: number): Promise<void> {
  const step: Step = {
    f: 'open',
    key: `account/${id}`,
    value: null,
    path: `/v1/account/${id}/commands`,
    body: { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } },
  };
  while (Date.now() < deadline) {
    await perform(ctx, step);
    const last = ctx.history
      .events()
      .filter((e) => e.process === ctx.process)
      .at(-1);
    if (last?.type === 'ok' || last?.error === 'AccountAlreadyOpen') return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A client: one operation in flight, a short pause between operations, until `running()` is false. */
export async function runClient(
  ctx: ClientContext,
  input: { random: () => number; workload: Workload; running: () => boolean; pauseMs: number },
): Promise<void> {
  for (let turn = 0; input.running(); turn++) {
    await perform(ctx, nextStep(input.random, input.workload, `${ctx.process}#${turn}`));
    await new Promise((r) => setTimeout(r, input.pauseMs * (0.5 + input.random())));
  }
}
