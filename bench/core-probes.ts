/**
 * Core write probes around a switchover, and what they say about unavailability.
 *
 * A steady client with one write in flight samples a partition once per write latency (about 2 s on
 * this loaded machine), so "last ack before the fence -> first ack after the unfence" is bounded below by
 * that latency, whatever the switchover does. A probe instead sends a core write to the partition every
 * `intervalMs` (several in flight, at most `maxInFlight`, so that a slow machine is not flooded) and
 * records when it was SENT and what came back. A partition's unavailability is then the time during which a
 * write sent would have been refused: from the send of its first refused probe to the send of the first
 * probe that succeeded after its last refused one (resolution: the probe interval, or the latency over
 * maxInFlight when that is longer).
 */

export interface ProbeAttempt {
  readonly sentAt: number;
  readonly answeredAt: number;
  /** HTTP status, or 0 for a client-side error (timeout, connection). */
  readonly status: number;
  /** The error name of a refusal (`PartitionFenced`, `NotHome`, ...). */
  readonly error?: string;
}

export interface ProbeWindow {
  readonly partition: number;
  /** First refused send -> first successful send after the last refused one (0 when never refused). */
  readonly unavailableMs: number;
  readonly refused: number;
  /** Refusals by `<status> <error>`. */
  readonly reasons: Readonly<Record<string, number>>;
  /** The first successful send after the last refusal (NaN when there is none). */
  readonly recoveredAt: number;
}

const ok = (a: ProbeAttempt) => a.status >= 200 && a.status < 300;
/**
 * Refused for want of a writable home: 503 (fenced, not writable yet, home unreachable), 421 (not the
 * home), or no answer (0). Not a domain refusal (4xx) nor contention on the aggregate.
 */
const unavailable = (a: ProbeAttempt) =>
  (a.status === 503 && a.error !== 'ContentionError') || a.status === 421 || a.status === 0;

/**
 * The refusal window of one partition's probes (attempts in any order), counting only refusals answered
 * from `span.from` on and sent by `span.to` (the switchover's execution: a refusal while the machine was
 * warming up, or a timeout long after, is not the switchover's).
 */
export function probeWindow(
  partition: number,
  attempts: readonly ProbeAttempt[],
  span: { from: number; to: number } = { from: -Infinity, to: Infinity },
): ProbeWindow {
  const sorted = [...attempts].sort((a, b) => a.sentAt - b.sentAt);
  const refused = sorted.filter((a) => unavailable(a) && a.answeredAt >= span.from && a.sentAt <= span.to);
  const reasons: Record<string, number> = {};
  for (const r of refused) {
    const key = `${r.status} ${r.error ?? ''}`.trim();
    reasons[key] = (reasons[key] ?? 0) + 1;
  }
  if (refused.length === 0)
    return { partition, unavailableMs: 0, refused: 0, reasons, recoveredAt: Number.NaN };
  const first = refused[0]!.sentAt;
  const last = refused[refused.length - 1]!.sentAt;
  const recovered = sorted.find((a) => a.sentAt > last && ok(a));
  const recoveredAt = recovered?.sentAt ?? Number.NaN;
  return {
    partition,
    unavailableMs: recovered ? recoveredAt - first : Number.POSITIVE_INFINITY,
    refused: refused.length,
    reasons,
    recoveredAt,
  };
}

/**
 * Sends `send()` every `intervalMs` while `running()`, never more than `maxInFlight` at once; resolves
 * with every attempt once the last one answered.
 */
export async function probe(input: {
  /** `slot` (0 .. maxInFlight - 1) is free while this send runs: one aggregate per slot avoids contention. */
  send: (slot: number) => Promise<{ status: number; error?: string }>;
  running: () => boolean;
  intervalMs: number;
  maxInFlight: number;
}): Promise<ProbeAttempt[]> {
  const attempts: ProbeAttempt[] = [];
  const inFlight = new Map<number, Promise<void>>();
  while (input.running()) {
    const slot = [...Array(input.maxInFlight).keys()].find((k) => !inFlight.has(k));
    if (slot !== undefined) {
      const sentAt = Date.now();
      const one = input
        .send(slot)
        .catch((error: unknown) => ({ status: 0, error: (error as Error).name }))
        .then((answer) => {
          attempts.push({ sentAt, answeredAt: Date.now(), ...answer });
        })
        .finally(() => inFlight.delete(slot));
      inFlight.set(slot, one);
    }
    await new Promise((r) => setTimeout(r, input.intervalMs));
  }
  await Promise.all(inFlight.values());
  return attempts;
}
