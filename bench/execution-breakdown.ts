/**
 * Where a state machine execution's time went, from its history (as Step Functions' console shows it):
 * every state from entered to exited, in order, a state entered more than once numbered by attempt
 * (`CheckWatermark #2`). Pass and Choice states are kept (they cost a transition each in the sandbox).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

export interface StateSpan {
  /** State name, with ` #n` from its second entry on. */
  readonly state: string;
  /** Entered, ms after the execution started. */
  readonly startMs: number;
  /** Entered -> exited (or failed). */
  readonly ms: number;
  /** Exited, as an epoch ms timestamp (for comparing with client-side times). */
  readonly exitedAt: number;
}

/** The spans of every state of the execution, in the order they were entered. */
export function stateSpans(history: readonly HistoryEvent[], executionStart: number): StateSpan[] {
  const open = new Map<string, { label: string; at: number }>();
  const seen = new Map<string, number>();
  const spans: StateSpan[] = [];
  for (const event of history) {
    const at = event.timestamp ? new Date(event.timestamp).getTime() : 0;
    const type = event.type ?? '';
    const entered = event.stateEnteredEventDetails?.name;
    if (type.endsWith('StateEntered') && entered) {
      const n = (seen.get(entered) ?? 0) + 1;
      seen.set(entered, n);
      open.set(entered, { label: n === 1 ? entered : `${entered} #${n}`, at });
      continue;
    }
    const exited = event.stateExitedEventDetails?.name ?? event.taskFailedEventDetails?.resource;
    const began = exited ? open.get(exited) : undefined;
    if (!exited || !began) continue;
    if (!type.endsWith('StateExited') && type !== 'TaskFailed') continue;
    open.delete(exited);
    spans.push({ state: began.label, startMs: began.at - executionStart, ms: at - began.at, exitedAt: at });
  }
  return spans.sort((a, b) => a.startMs - b.startMs);
}
