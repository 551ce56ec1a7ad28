import { compileCondition, type Leaf, type LeafCondition } from './conditions.ts';
import { InvalidEventPatternError } from './errors.ts';

/*
 * EventBridge event-pattern semantics, as documented in
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html :
 * - fields of a pattern object are ANDed, the values of a field's array are ORed;
 * - a field whose event value is an array matches if any element matches (arrays of arrays are flattened);
 * - a nested pattern object over an array of objects must be satisfied by one element (array consistency);
 * - `exists` looks only at leaf values: an object, an empty array or an absent field has none;
 * - `$or` takes two or more sub-patterns, any of which may match, and is ANDed with its sibling fields.
 */

type FieldRule =
  | { key: string; kind: 'leaf'; conditions: LeafCondition[] }
  | { key: string; kind: 'object'; node: CompiledNode };

/** A validated pattern, ready to be matched many times. */
export interface CompiledNode {
  readonly fields: readonly FieldRule[];
  readonly anyOf: readonly (readonly CompiledNode[])[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function parseIfString(value: unknown, what: 'pattern' | 'event'): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    if (what === 'event') throw new TypeError('Event is not valid JSON', { cause: error });
    throw new InvalidEventPatternError('', 'Pattern is not valid JSON', { cause: error });
  }
}

function compileOr(value: unknown, path: string): CompiledNode[] {
  if (!Array.isArray(value) || value.length < 2) {
    throw new InvalidEventPatternError(path, '$or must be an array of at least two pattern objects');
  }
  return value.map((branch, i) => compileNode(branch, `${path}[${i}]`));
}

function compileField(key: string, value: unknown, path: string): FieldRule {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new InvalidEventPatternError(path, 'Empty arrays are not allowed');
    return { key, kind: 'leaf', conditions: value.map((c, i) => compileCondition(c, `${path}[${i}]`)) };
  }
  if (isRecord(value)) return { key, kind: 'object', node: compileNode(value, path) };
  throw new InvalidEventPatternError(
    path,
    'Match value must be an array of conditions or a nested pattern object',
  );
}

function compileNode(raw: unknown, path: string): CompiledNode {
  if (!isRecord(raw)) throw new InvalidEventPatternError(path, 'Pattern must be a JSON object');
  const entries = Object.entries(raw);
  if (entries.length === 0) throw new InvalidEventPatternError(path, 'Empty objects are not allowed');
  const fields: FieldRule[] = [];
  const anyOf: CompiledNode[][] = [];
  for (const [key, value] of entries) {
    const at = join(path, key);
    if (key === '$or') anyOf.push(compileOr(value, at));
    else fields.push(compileField(key, value, at));
  }
  return { fields, anyOf };
}

/**
 * Validates an event pattern (object or JSON string) and returns its compiled form.
 * @throws InvalidEventPatternError naming the offending path and the reason, like PutRule would.
 * @example validatePattern({ source: ['orders'], detail: { total: [{ numeric: ['>', 0] }] } });
 */
export function validatePattern(pattern: unknown): CompiledNode {
  return compileNode(parseIfString(pattern, 'pattern'), '');
}

/** Collects the leaf values at a field: arrays are flattened, objects contribute nothing. */
function leavesOf(value: unknown, out: Leaf[] = []): Leaf[] {
  if (Array.isArray(value)) {
    for (const item of value) leavesOf(item, out);
  } else if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    out.push(value);
  }
  return out;
}

/** The objects a nested pattern can be tested against: the value itself, or the objects of an array. */
function objectsOf(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) {
    for (const item of value) objectsOf(item, out);
  } else if (isRecord(value)) {
    out.push(value);
  }
  return out;
}

function leafMatches(conditions: readonly LeafCondition[], value: unknown): boolean {
  const leaves = leavesOf(value);
  return conditions.some((c) => (c.kind === 'exists' ? c.exists === leaves.length > 0 : leaves.some(c.test)));
}

function fieldMatches(rule: FieldRule, event: Record<string, unknown> | undefined): boolean {
  const value = event === undefined || !Object.hasOwn(event, rule.key) ? undefined : event[rule.key];
  if (rule.kind === 'leaf') return leafMatches(rule.conditions, value);
  const candidates = objectsOf(value);
  // No object at this path: only sub-patterns made of `exists: false` can still match.
  if (candidates.length === 0) return nodeMatches(rule.node, undefined);
  return candidates.some((candidate) => nodeMatches(rule.node, candidate));
}

/** Tests a compiled pattern against one event object (`undefined` stands for an absent subtree). */
export function nodeMatches(node: CompiledNode, event: Record<string, unknown> | undefined): boolean {
  return (
    node.fields.every((rule) => fieldMatches(rule, event)) &&
    node.anyOf.every((branches) => branches.some((branch) => nodeMatches(branch, event)))
  );
}

/**
 * Tests an event against an EventBridge event pattern with the service's semantics (TestEventPattern).
 * Both may be given as objects or JSON strings; an invalid pattern throws InvalidEventPatternError.
 * The pattern is compiled on every call: to match many events, keep `validatePattern`'s result and use `nodeMatches`.
 * @example matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, event);
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  const compiled = validatePattern(pattern);
  const parsed = parseIfString(event, 'event');
  return nodeMatches(compiled, isRecord(parsed) ? parsed : undefined);
}
