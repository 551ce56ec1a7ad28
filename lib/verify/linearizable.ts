import type { Operation } from './history.ts';
import type { Model } from './models.ts';

/** Verdict of the linearizability search for one key. */
export interface LinearizabilityResult {
  readonly valid: true | false | 'unknown';
  /** Operations considered (ok, informative fails, info). */
  readonly operations: number;
  /** Search configurations explored. */
  readonly explored: number;
  /** When invalid: an ok'd op that no order could place before its completion, and the longest prefix found. */
  readonly failedOp?: Operation;
  readonly longestPrefix?: readonly number[];
}

/** Options of checkLinearizable. */
export interface LinearizabilityOptions {
  /** Search configurations to explore before giving up with 'unknown' (default 200 000). */
  readonly maxExplored?: number;
}

interface Entry {
  readonly op: number;
  readonly kind: 'call' | 'return';
  readonly time: number;
  /** Index of the partner entry (the call's return; -1 for an info op, which never returns). */
  partner: number;
}

/** Calls and returns in time order; at equal times calls first, so touching operations count as concurrent. */
function entriesOf(ops: readonly Operation[]): Entry[] {
  const list: Entry[] = [];
  ops.forEach((op, i) => {
    list.push({ op: i, kind: 'call', time: op.invokedAt, partner: -1 });
    if (Number.isFinite(op.completedAt))
      list.push({ op: i, kind: 'return', time: op.completedAt, partner: -1 });
  });
  list.sort((a, b) => a.time - b.time || (a.kind === b.kind ? a.op - b.op : a.kind === 'call' ? -1 : 1));
  const callAt = new Map<number, number>();
  list.forEach((e, i) => {
    if (e.kind === 'call') callAt.set(e.op, i);
    else {
      const c = callAt.get(e.op)!;
      list[c]!.partner = i;
      e.partner = c;
    }
  });
  return list;
}

/**
 * Wing & Gong's linearizability search with Lowe's memoization (the WGL algorithm used by Knossos and
 * porcupine), for one key's history against a sequential model.
 *
 * The history is a time-ordered list of call and return entries. Scanning from the head: at a call, try
 * to linearize that op now (the model accepts it in the current state); if it does and the configuration
 * (set of linearized ops as a bitset, model state) was never seen, push it on a stack, lift its call and
 * return out of the list and restart from the head. At a return whose op is not yet linearized, the
 * current prefix cannot be extended: pop the last choice, put its entries back and try the next call
 * after it. The history is linearizable when no return is left (every ok'd op placed); it is not when
 * the stack is empty at a return. Info ops (indeterminate) have a call but no return: they may be placed
 * anywhere after their invocation, or never. Failed ops are left out unless the model says the refusal
 * is informative (e.g. `InsufficientFunds` says the balance was lower at that point).
 *
 * Memoization makes the cost O(configurations), which is exponential only in the concurrency of the
 * history; the search stops after `maxExplored` configurations with `valid: 'unknown'` rather than hang.
 */
export function checkLinearizable<S>(
  model: Model<S>,
  history: readonly Operation[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const ops = history.filter((op) => op.outcome !== 'fail' || model.informative(op));
  return new WglSearch(model, ops, options.maxExplored ?? 200_000).run();
}

/** The search state of one WGL run (see checkLinearizable). */
class WglSearch<S> {
  private readonly entries: Entry[];
  private readonly lifted: Uint8Array;
  private readonly linearized: Uint8Array;
  private readonly seen = new Set<string>();
  private readonly stack: { entry: number; state: S }[] = [];
  private state: S;
  private explored = 0;
  private longest: number[] = [];
  private failedAt = -1;
  private failDepth = -1;

  constructor(
    private readonly model: Model<S>,
    private readonly ops: readonly Operation[],
    private readonly maxExplored: number,
  ) {
    this.entries = entriesOf(ops);
    this.lifted = new Uint8Array(this.entries.length);
    this.linearized = new Uint8Array(ops.length);
    this.state = model.init();
  }

  run(): LinearizabilityResult {
    let i = 0;
    for (;;) {
      while (i < this.entries.length && this.lifted[i]) i++;
      if (i >= this.entries.length) return this.result(true);
      if (this.entries[i]!.kind === 'call') {
        const next = this.tryLinearize(i);
        if (next === 'unknown') return this.result('unknown');
        i = next;
        continue;
      }
      const resumeAt = this.backtrack(i);
      if (resumeAt < 0) return this.result(false);
      i = resumeAt;
    }
  }

  /** Linearizes the op of call entry `i` if the model accepts it in a new configuration; the next index to scan. */
  private tryLinearize(i: number): number | 'unknown' {
    const entry = this.entries[i]!;
    const next = this.model.step(this.state, this.ops[entry.op]!);
    if (next === undefined) return i + 1;
    this.linearized[entry.op] = 1;
    const key = `${this.linearized.join('')}|${this.model.key(next)}`;
    if (this.seen.has(key)) {
      this.linearized[entry.op] = 0;
      return i + 1;
    }
    this.seen.add(key);
    if (++this.explored > this.maxExplored) return 'unknown';
    this.stack.push({ entry: i, state: this.state });
    this.state = next;
    this.lift(entry, i, 1);
    if (this.stack.length > this.longest.length)
      this.longest = this.stack.map((s) => this.ops[this.entries[s.entry]!.op]!.id);
    return 0;
  }

  /** A return of an op not yet linearized: undo the last choice; where to resume, or -1 when none is left. */
  private backtrack(i: number): number {
    if (this.stack.length >= this.failDepth) {
      this.failDepth = this.stack.length;
      this.failedAt = this.entries[i]!.op;
    }
    const top = this.stack.pop();
    if (!top) return -1;
    const call = this.entries[top.entry]!;
    this.state = top.state;
    this.linearized[call.op] = 0;
    this.lift(call, top.entry, 0);
    return top.entry + 1;
  }

  private lift(call: Entry, at: number, value: 0 | 1): void {
    this.lifted[at] = value;
    if (call.partner >= 0) this.lifted[call.partner] = value;
  }

  private result(valid: true | false | 'unknown'): LinearizabilityResult {
    const base = { valid, operations: this.ops.length, explored: this.explored };
    if (valid !== false) return base;
    return { ...base, failedOp: this.ops[this.failedAt]!, longestPrefix: this.longest };
  }
}
