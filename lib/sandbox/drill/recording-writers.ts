import type { ApiClient } from '../auth/index.ts';
import type { DemoCommand, DemoWorkload } from '../demo/clients.ts';
import { CLIENT_REGION_HEADER } from '../gtm/index.ts';

/** Clients near each region writing through the front door, remembering every acknowledged event id. */
export interface RecordingWriters {
  /**
   * Sends each region's opening commands, each again while it gets no answer (a timeout or a 5xx: the
   * first writes of a sandbox just started can outlast the client's 5 s), at most `OPEN_ATTEMPTS` times; a
   * 4xx (already opened by an attempt that landed unanswered) ends its retries.
   */
  open(): Promise<void>;
  start(): void;
  /** Resolves once no write is in flight; the clients wait until `resume`. */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
  /** Event ids of every 200 so far. */
  acknowledgedIds(): Set<string>;
  /** Event ids acknowledged before `at` (wall-clock ms). */
  acknowledgedBefore(at: number): Set<string>;
}

/** Attempts of each opening command (5 s each at most). */
const OPEN_ATTEMPTS = 6;

/**
 * Writers for a drill that must say which acknowledged writes came back: unlike the demo's tally, they
 * keep each event id with the time of its 200. A refused or timed-out write is no acknowledgement.
 */
export function recordingWriters(input: {
  client: ApiClient;
  frontDoor: string;
  regions: readonly string[];
  workload: DemoWorkload;
  pauseMs?: number;
}): RecordingWriters {
  const acked = new Map<string, number>();
  let running = false;
  let paused: { resume: () => void; done: Promise<void> } | undefined;
  let loops: Promise<void>[] = [];
  // Turns go on across a stop and a later start: a restarted client sends new commands, not the old ones.
  const turns = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();

  /** `acked` (200), `refused` (4xx: the command was decided) or `unanswered` (timeout, 5xx). */
  async function send(from: string, command: DemoCommand): Promise<'acked' | 'refused' | 'unanswered'> {
    try {
      const response = await input.client.fetch(`${input.frontDoor}${command.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CLIENT_REGION_HEADER]: from },
        body: JSON.stringify(command.body),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json().catch(() => ({}))) as { events?: Array<{ eventId?: string }> };
      if (!response.ok) return response.status < 500 ? 'refused' : 'unanswered';
      const at = Date.now();
      for (const event of body.events ?? []) if (event.eventId) acked.set(event.eventId, at);
      return 'acked';
    } catch {
      // Not acknowledged: the drill counts only writes that got their 200.
      return 'unanswered';
    }
  }

  function tracked(from: string, command: DemoCommand): Promise<'acked' | 'refused' | 'unanswered'> {
    const sending = send(from, command);
    inFlight.add(sending);
    return sending.finally(() => inFlight.delete(sending));
  }

  return {
    async open() {
      const opening = async (from: string, command: DemoCommand) => {
        for (let attempt = 1; attempt <= OPEN_ATTEMPTS; attempt++) {
          if ((await tracked(from, command)) !== 'unanswered') return;
        }
      };
      await Promise.all(
        input.regions.flatMap((from) => input.workload.opening(from).map((c) => opening(from, c))),
      );
    },
    start() {
      running = true;
      loops = input.regions.map(async (from) => {
        while (running) {
          if (paused) await paused.done;
          if (!running) break;
          const turn = turns.get(from) ?? 0;
          turns.set(from, turn + 1);
          await tracked(from, input.workload.command(from, turn));
          await new Promise((r) => setTimeout(r, input.pauseMs ?? 20));
        }
      });
    },
    async pause() {
      let resume = () => {};
      const done = new Promise<void>((r) => {
        resume = r;
      });
      paused = { resume, done };
      await Promise.all([...inFlight]);
    },
    resume() {
      paused?.resume();
      paused = undefined;
    },
    async stop() {
      running = false;
      this.resume();
      await Promise.all(loops);
    },
    acknowledgedIds: () => new Set(acked.keys()),
    acknowledgedBefore: (at) => new Set([...acked].filter(([, t]) => t < at).map(([id]) => id)),
  };
}
