import type { Application } from '../../app/index.ts';
import type { Tier } from '../../config/index.ts';
import type { ApiClient } from '../auth/index.ts';
import { NoWorkloadError } from '../errors.ts';
import { CLIENT_REGION_HEADER } from '../gtm/index.ts';

/** Outcome counters of the demo's clients, per serving region and tier. */
export interface WriteTally {
  /** Events written, keyed `region|tier`. */
  readonly events: Map<string, number>;
  /** Refused writes, keyed `tier|status error`. */
  readonly refused: Map<string, number>;
  /**
   * Every successful write (wall-clock ms it was sent and answered), per client location and per
   * `location|tier` (for the RTO).
   */
  readonly successes: Map<string, Success[]>;
}

/** One successful write: when the client sent it and when the answer came. */
export interface Success {
  readonly sentAt: number;
  readonly answeredAt: number;
}

/**
 * When the first write SENT after `since` was answered with success. A write sent before (in flight when a
 * region was killed, answered just after) says nothing about recovery: counting it gave an RTO of 1 ms.
 */
export function firstSuccessSentAfter(
  successes: readonly Success[] | undefined,
  since: number,
): number | undefined {
  let first: number | undefined;
  for (const s of successes ?? [])
    if (s.sentAt > since && (first === undefined || s.answeredAt < first)) first = s.answeredAt;
  return first;
}

/** A new, empty tally. */
export function newTally(): WriteTally {
  return { events: new Map(), refused: new Map(), successes: new Map() };
}

const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);

/** One command of the example application, with the tier of its aggregate. */
export interface DemoCommand {
  readonly tier: Tier;
  readonly path: string;
  readonly body: { type: string; payload: Record<string, unknown> };
}

/**
 * What an application's clients send in the demo (`defineApp({ ..., demo })`): the commands each region's
 * client sends once before the steady writes, then its `turn`-th write. Without one, the demo sends the
 * example bank's commands (accounts, profiles, activity).
 */
export interface DemoWorkload {
  opening(region: string): DemoCommand[];
  command(region: string, turn: number): DemoCommand;
}

/** The commands a client near `region` sends on its `turn`-th write: all three aggregates in rotation. */
export function commandFor(region: string, turn: number): DemoCommand {
  const user = `${region}-u${turn % 3}`;
  switch (turn % 3) {
    case 0:
      return {
        tier: 'core',
        path: `/v1/account/acct-${user}/commands`,
        body: { type: 'Deposit', payload: { amount: 1 + (turn % 7) } },
      };
    case 1:
      return {
        tier: 'important',
        path: `/v1/profile/prof-${user}/commands`,
        body: { type: 'SetDisplayName', payload: { displayName: `${user} #${turn}` } },
      };
    default:
      return {
        tier: 'ordinary',
        path: `/v1/activity/act-${user}/commands`,
        body: { type: 'AppendEntry', payload: { kind: 'click', message: `turn ${turn}` } },
      };
  }
}

/** The commands that open a client's accounts before the steady writes start. */
export function openingCommands(region: string): DemoCommand[] {
  return [0, 1, 2].map((i) => ({
    tier: 'core' as const,
    path: `/v1/account/acct-${region}-u${i}/commands`,
    body: { type: 'OpenAccount', payload: { owner: `${region}-u${i}`, currency: 'EUR' } },
  }));
}

/** The demo's built-in workload, the example bank's: accounts (core), profiles (important), activity (ordinary). */
export const BANK_DEMO: DemoWorkload = { opening: openingCommands, command: commandFor };

/** The aggregate types the built-in (bank) demo writes. */
const BANK_DEMO_TYPES = ['account', 'profile', 'activity'] as const;

/**
 * The demo workload of an application: its own (`defineApp({ demo })`), else the built-in bank one when it
 * has the bank's types; otherwise a NoWorkloadError that says how to give it one.
 */
export function demoWorkloadFor(
  application: Pick<Application, 'name' | 'aggregates' | 'demo'>,
): DemoWorkload {
  if (application.demo) return application.demo;
  const missing = BANK_DEMO_TYPES.filter((t) => !application.aggregates.some((a) => a.name === t));
  if (missing.length > 0) throw new NoWorkloadError({ application: application.name, tool: 'demo', missing });
  return BANK_DEMO;
}

/** What `send` takes: the client, where it is, the command and the tally its outcome goes to. */
export interface SendInput {
  client: ApiClient;
  frontDoor: string;
  from: string;
  command: DemoCommand;
  tally: WriteTally;
}

/** Sends one command through the front door as a client located in `from`; records the outcome. */
export async function send(input: SendInput): Promise<boolean> {
  return isSuccess(await sendForStatus(input));
}

const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * An aggregate's first write (the demo's opening commands), sent again while it is answered 503 or not at
 * all, up to `attempts` times 500 ms apart. The first write of a partition claims it and waits for the
 * claim's hold; under `core.ack: quorum` on a loaded machine that outlasts the client's 5 s timeout, and a
 * demo whose accounts were never opened writes no core event. A retry answered 4xx (e.g. 422
 * AccountAlreadyOpen: an earlier attempt landed after its timeout) ends it: the aggregate exists.
 */
export async function sendOpening(input: SendInput, attempts = 5): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const status = await sendForStatus(input);
    if (isSuccess(status)) return true;
    if ((status !== 0 && status !== 503) || attempt >= attempts) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `send`, answering the HTTP status (0: no answer, a timeout or a broken connection). */
async function sendForStatus(input: SendInput): Promise<number> {
  const { command, tally } = input;
  const sentAt = Date.now();
  try {
    const response = await input.client.fetch(`${input.frontDoor}${command.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [CLIENT_REGION_HEADER]: input.from },
      body: JSON.stringify(command.body),
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json().catch(() => ({}))) as { events?: unknown[]; error?: string };
    if (!response.ok) {
      bump(tally.refused, `${command.tier}|${response.status} ${body.error ?? ''}`.trim());
      return response.status;
    }
    const region = response.headers.get('x-multiactive-region') ?? '?';
    bump(tally.events, `${region}|${command.tier}`, body.events?.length ?? 0);
    const answeredAt = Date.now();
    for (const key of [input.from, `${input.from}|${command.tier}`]) {
      const list = tally.successes.get(key) ?? [];
      list.push({ sentAt, answeredAt });
      tally.successes.set(key, list);
    }
    return response.status;
  } catch (error) {
    bump(tally.refused, `${command.tier}|${(error as Error).name}`);
    return 0;
  }
}

/** Clients near each region writing steadily until `stop()`; one write in flight per client. */
export function startWriters(input: {
  client: ApiClient;
  frontDoor: string;
  regions: readonly string[];
  tally: WriteTally;
  pauseMs: number;
  /** The command of a client's `turn`-th write (default: the bank's, `commandFor`). */
  command?: (region: string, turn: number) => DemoCommand;
}): { stop: () => Promise<void> } {
  const command = input.command ?? commandFor;
  let running = true;
  const loops = input.regions.map(async (from) => {
    for (let turn = 0; running; turn++) {
      await send({
        client: input.client,
        frontDoor: input.frontDoor,
        from,
        command: command(from, turn),
        tally: input.tally,
      });
      await new Promise((r) => setTimeout(r, input.pauseMs));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
