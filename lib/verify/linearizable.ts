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
  /** Search configurations to explore before giving up with 'unknown' (default 1 000 000). */
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
 * history (configurations are keyed by a Zobrist hash of the linearized set plus the model state, and
 * compared exactly, as porcupine does); the search stops after `maxExplored` configurations with
 * `valid: 'unknown'` rather than hang, and the caller must count 'unknown' as a failure to decide.
 */
export function checkLinearizable<S>(
  model: Model<S>,
  history: readonly Operation[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const ops = history.filter((op) => op.outcome !== 'fail' || model.informative(op));
  return new WglSearch(model, ops, options.maxExplored ?? 1_000_000).run();
}

/** A 64-bit Zobrist key per op (two 32-bit halves), from a fixed-seed xorshift: the same for every run. */
function zobristKeys(count: number): Uint32Array {
  const keys = new Uint32Array(count * 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < keys.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x >>> 0;
  }
  return keys;
}

/**
 * The configurations already explored, keyed by (hash of the linearized set, model state) with the exact
 * set kept for comparison: a hash collision never prunes a configuration that was not seen.
 */
class ConfigurationCache {
  private readonly seen = new Map<string, Uint32Array[]>();

  /** True when (bits, state) is new, which records it; false when it was explored before. */
  add(hash: string, bits: Uint32Array): boolean {
    const list = this.seen.get(hash);
    if (!list) {
      this.seen.set(hash, [bits.slice()]);
      return true;
    }
    if (list.some((other) => other.every((word, i) => word === bits[i]))) return false;
    list.push(bits.slice());
    return true;
  }
}

/** The search state of one WGL run (see checkLinearizable). */
class WglSearch<S> {
  private readonly entries: Entry[];
  private readonly lifted: Uint8Array;
  private readonly bits: Uint32Array;
  private readonly zobrist: Uint32Array;
  private hash: [number, number] = [0, 0];
  private readonly seen = new ConfigurationCache();
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
    this.bits = new Uint32Array(Math.ceil(ops.length / 32) + 1);
    this.zobrist = zobristKeys(ops.length);
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
    this.toggle(entry.op);
    if (!this.seen.add(`${this.hash[0]}:${this.hash[1]}|${this.model.key(next)}`, this.bits)) {
      this.toggle(entry.op);
      return i + 1;
    }
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
    this.toggle(call.op);
    this.lift(call, top.entry, 0);
    return top.entry + 1;
  }

  /** Flips op's bit in the linearized set and its Zobrist key in the hash. */
  private toggle(op: number): void {
    this.bits[op >>> 5]! ^= 1 << (op & 31);
    this.hash = [
      (this.hash[0] ^ this.zobrist[2 * op]!) >>> 0,
      (this.hash[1] ^ this.zobrist[2 * op + 1]!) >>> 0,
    ];
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
