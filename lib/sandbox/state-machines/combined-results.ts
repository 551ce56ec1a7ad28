import { StateMachine } from 'aws-local-stepfunctions';
import type { AslDefinition, AslState } from './definitions.ts';

/** The Parallel or Map a nested definition (a branch, an iterator) belongs to; a Parallel's branch index. */
interface Container {
  readonly name: string;
  readonly branch?: number;
}

/** One running Parallel's or Map's raw result so far: `[`, each output and its comma, `]`. */
interface CombinedResult {
  readonly slots: Map<number, number>;
  total: number;
}

/** What a nested run (one branch, one iteration) reports when it ends, for the execution that owns it. */
type NestedRunObserver = (run: {
  readonly machine: object;
  readonly definition: unknown;
  readonly input: unknown;
  readonly output: unknown;
}) => void;

/** By the execution's `overrides` object: the library hands the root's run options to every nested run. */
const observers = new WeakMap<object, NestedRunObserver>();

let patched = false;

/**
 * Wraps StateMachine.run once per process so that each nested run's output reaches its execution's
 * observer as the run resolves, before its Parallel or Map goes on. The library's event log cannot be
 * used for this: the root log closes at the execution's end and drops what nested logs forward later
 * (a Map's exit inside a Parallel's branch, a branch's end), so a nested result would go unchecked.
 * Runs without an observer (another caller's machines) pass through untouched.
 */
function observeNestedRuns(): void {
  if (patched) return;
  patched = true;
  const run = StateMachine.prototype.run;
  StateMachine.prototype.run = function observedRun(this: StateMachine, input, options) {
    const execution = run.call(this, input, options);
    const observe = options?.overrides ? observers.get(options.overrides) : undefined;
    if (observe) {
      const definition = (this as unknown as { definition: unknown }).definition;
      execution.result.then(
        (output) => observe({ machine: this, definition, input, output }),
        () => undefined,
      );
    }
    return execution;
  };
}

/** Every branch and iterator definition of a machine (nested ones too), with the state they belong to. */
function containersOf(definition: AslDefinition): Map<unknown, Container> {
  const out = new Map<unknown, Container>();
  const visit = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      (state.Branches ?? []).forEach((branch, index) => {
        out.set(branch, { name, branch: index });
        visit(branch.States);
      });
      const iterator = state.ItemProcessor ?? state.Iterator;
      if (!iterator) continue;
      out.set(iterator, { name });
      visit(iterator.States);
    }
  };
  visit(definition.States);
  return out;
}

/**
 * Holds each Parallel's and Map's raw result (its branches' / iterations' outputs, before ResultSelector)
 * to `check`, per running instance: a Map instance is its iterator machine (a fresh one per execution of
 * the Map); a Parallel instance is the input object its branches share (a fresh one per execution of the
 * state), a branch's output taking its branch's slot (a retried Parallel with the same input replaces
 * them). Whatever state ends a branch (a Task, a Pass, a nested Map or Parallel) is counted. A Parallel
 * whose input is a primitive is keyed by its value and adds up: two concurrent instances with equal
 * primitive inputs can only overstate.
 * `overrides` is the execution's run-options `overrides` object (one per execution).
 */
export function checkCombinedResults(
  overrides: object,
  definition: AslDefinition,
  check: (container: string, bytes: number) => void,
  bytesOf: (value: unknown) => number,
): void {
  observeNestedRuns();
  const containers = containersOf(definition);
  const byObject = new WeakMap<object, Map<string, CombinedResult>>();
  const byValue = new Map<string, CombinedResult>();
  const resultOf = (container: Container, key: unknown): CombinedResult => {
    let results = byValue;
    let name = container.name;
    if (typeof key === 'object' && key !== null) {
      results = byObject.get(key) ?? new Map();
      byObject.set(key, results);
    } else name = `${container.name}\u0000${JSON.stringify(key ?? null)}`;
    const result = results.get(name) ?? { slots: new Map(), total: 1 };
    results.set(name, result);
    return result;
  };
  observers.set(overrides, ({ machine, definition: nested, input, output }) => {
    const container = containers.get(nested);
    if (!container) return;
    const parallel = container.branch !== undefined;
    const result = resultOf(container, parallel ? input : machine);
    const keyed = parallel && typeof input === 'object' && input !== null;
    const slot = keyed ? container.branch! : result.slots.size;
    // JSON array: '[' and ']', the outputs, a comma between two: 1 + each output's bytes + 1.
    const bytes = bytesOf(output) + 1;
    result.total += bytes - (result.slots.get(slot) ?? 0);
    result.slots.set(slot, bytes);
    check(container.name, result.total);
  });
}
