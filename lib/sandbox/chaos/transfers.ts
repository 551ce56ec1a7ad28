import { DynamoDueSagaSource } from '../../sagas/index.ts';
import type { HistoryRecorder } from '../../verify/index.ts';
import type { ApiClient } from '../auth/index.ts';
import { CLIENT_REGION_HEADER } from '../gtm/index.ts';
import type { SandboxRegion } from '../platform/region.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { pick } from './random.ts';

/**
 * The transfer workload of a chaos run: accounts homed in every region, clients near every region moving
 * money between accounts homed in different regions (`POST /v1/transfers?wait=true` through the front door),
 * and at-least-once delivery of the Saga machine's tasks (a task run twice, as Lambda may), so that a
 * step that is not idempotent shows.
 */

/** Every transfer account starts with this much (minor units). */
export const TRANSFER_FUNDING = 1_000;

/** The transfer accounts, by the region they are homed in. */
export interface TransferWorkload {
  readonly byRegion: Readonly<Record<string, readonly string[]>>;
  readonly accounts: readonly string[];
  /** Op ids of the accounts' opening and funding (their events' causationIds). */
  readonly setupOpIds: readonly string[];
}

const openKey = (id: string) => `open-${id}`;
const fundKey = (id: string) => `fund-${id}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function post(client: ApiClient, url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await client.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, region: response.headers.get('x-multiactive-region'), body: json };
}

/** One account homed in `region` (opened at its API, so a fresh partition is claimed there), funded. */
async function fundedAccountIn(
  client: ApiClient,
  region: SandboxRegion,
  prefix: string,
  deadline: number,
): Promise<string | null> {
  for (let n = 0; Date.now() < deadline; n++) {
    const id = `${prefix}-${region.name}-${n}`;
    const url = `${region.apiUrl}/v1/account/${id}/commands`;
    const opened = await post(client, url, {
      type: 'OpenAccount',
      payload: { owner: id, currency: 'EUR' },
      idempotencyKey: openKey(id),
    }).catch(() => null);
    if (opened?.status !== 200 || opened.region !== region.name) continue;
    while (Date.now() < deadline) {
      const funded = await post(client, url, {
        type: 'Deposit',
        payload: { amount: TRANSFER_FUNDING },
        idempotencyKey: fundKey(id),
      }).catch(() => null);
      if (funded?.status === 200) return id;
      await sleep(200);
    }
  }
  return null;
}

/** Opens `perRegion` funded accounts homed in each region (before faults start). */
export async function openTransferAccounts(
  sandbox: Sandbox,
  input: { tag: string; perRegion: number; deadline: number },
): Promise<TransferWorkload> {
  const byRegion: Record<string, string[]> = {};
  await Promise.all(
    sandbox.regions.map(async (region) => {
      byRegion[region.name] = [];
      for (let k = 0; k < input.perRegion; k++) {
        const id = await fundedAccountIn(
          sandbox.apiClient,
          region,
          `chaos-${input.tag}-t${k}`,
          input.deadline,
        );
        if (id) byRegion[region.name]!.push(id);
      }
    }),
  );
  const accounts = Object.values(byRegion).flat();
  return { byRegion, accounts, setupOpIds: accounts.flatMap((id) => [openKey(id), fundKey(id)]) };
}

/** Where a transfer client is and what it records into. */
export interface TransferClientContext {
  /** Authenticates every request (the sandbox's API Gateway refuses anonymous ones). */
  readonly client: ApiClient;
  readonly frontDoor: string;
  readonly from: string;
  readonly process: string;
  readonly history: HistoryRecorder;
}

/**
 * Sends one transfer and records it (`f: 'transfer'`, key `transfer/<idempotency key>`): 200 is ok with the
 * outcome (`confirmed` / `cancelled`), 202 ok with `trying` (not ended within the wait), 4xx a definite
 * refusal, 5xx / timeout / broken connection indeterminate. The transfer id travels as the op's event id.
 */
async function sendTransfer(
  ctx: TransferClientContext,
  input: { from: string; to: string; amount: number; key: string },
): Promise<'done' | 'retry'> {
  const base = { process: ctx.process, f: 'transfer' as const, key: `transfer/${input.key}` };
  // The idempotency key is the op id: the transfer's SagaBegun carries it as its causationId.
  ctx.history.record({ ...base, type: 'invoke', value: input.amount, opId: input.key });
  try {
    const answer = await post(
      ctx.client,
      `${ctx.frontDoor}/v1/transfers?wait=true`,
      { from: input.from, to: input.to, amount: input.amount, idempotencyKey: input.key },
      { [CLIENT_REGION_HEADER]: ctx.from },
    );
    const region = answer.region ?? '?';
    if (answer.status === 200 || answer.status === 202) {
      const eventIds = [String(answer.body.transferId)];
      ctx.history.record({ ...base, type: 'ok', value: String(answer.body.status), region, eventIds });
      return 'done';
    }
    const type = answer.status >= 500 ? 'info' : 'fail';
    const error = String(answer.body.error ?? answer.status);
    ctx.history.record({ ...base, type, value: null, region, error });
    return type === 'info' ? 'retry' : 'done';
  } catch (error) {
    ctx.history.record({ ...base, type: 'info', value: null, error: (error as Error).name });
    return 'retry';
  }
}

/**
 * A transfer client: moves 1-400 between two accounts homed in different regions, one transfer in flight;
 * an indeterminate answer is retried with the same idempotency key (at most twice), as a careful client
 * would, which also sends the same transfer to whichever region the front door picks next.
 */
export async function runTransferClient(
  ctx: TransferClientContext,
  input: { random: () => number; workload: TransferWorkload; running: () => boolean; pauseMs: number },
): Promise<void> {
  const regions = Object.keys(input.workload.byRegion).filter((r) => input.workload.byRegion[r]!.length > 0);
  for (let turn = 0; input.running() && regions.length > 1; turn++) {
    const source = pick(input.random, regions);
    const target = pick(
      input.random,
      regions.filter((r) => r !== source),
    );
    const transfer = {
      from: pick(input.random, input.workload.byRegion[source]!),
      to: pick(input.random, input.workload.byRegion[target]!),
      amount: 1 + Math.floor(input.random() * 400),
      key: `${ctx.process}#${turn}`,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await sendTransfer(ctx, transfer)) === 'done') break;
      await sleep(300);
    }
    await sleep(input.pauseMs * (0.5 + input.random()));
  }
}

/**
 * At-least-once delivery of the Saga machine's tasks: with probability `probability`, a task is run twice
 * at once (the machine sees the second copy's answer), as when Step Functions retries an invocation that
 * timed out while the first one still runs. Two copies of a step race past the log check that keeps a
 * finished step from being sent again, so only the step's own idempotency keeps the second from acting.
 * The sweep's own invocations are left alone.
 */
export class SagaTaskDuplicator {
  duplicated = 0;

  constructor(
    private readonly random: () => number,
    private readonly probability: number,
  ) {}

  install(regions: readonly SandboxRegion[]): void {
    for (const region of regions) {
      const run = region.functions.saga;
      Object.assign(region.functions, {
        saga: async (request: Parameters<typeof run>[0]) => {
          if (request.task === 'Sweep' || this.random() >= this.probability) return run(request);
          this.duplicated++;
          const [, second] = await Promise.allSettled([run(request), run(request)]);
          if (second.status === 'rejected') throw second.reason;
          return second.value;
        },
      });
    }
  }
}

/**
 * After the run: waits until every region holds every transfer ended (the sweep finishes those left in
 * doubt once their home can write), or the deadline; answers how many were still in progress.
 */
export async function awaitTransfersEnded(sandbox: Sandbox, deadline: number): Promise<number> {
  for (;;) {
    await sandbox.settleSagas();
    // A transfer in progress is in its region's due index; an ended one is not.
    const open = await Promise.all(
      sandbox.regions.map((region) =>
        new DynamoDueSagaSource({ client: region.clients.doc, tableName: region.stores.tables.state })
          .overdue('transfer', Number.MAX_SAFE_INTEGER, 10_000)
          .then((due) => due.length),
      ),
    );
    const left = open.reduce((a, b) => a + b, 0);
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(500);
  }
}
