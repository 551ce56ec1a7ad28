import { BlockList, isIP } from 'node:net';
import { InvalidEventPatternError } from './errors.ts';

/** A JSON leaf value of an event: what a pattern's array of conditions is tested against. */
export type Leaf = string | number | boolean | null;

/**
 * One element of a pattern's value array. `exists` is special: it is about whether the path has any leaf
 * value at all, so it is tested against the list of values rather than against each value.
 */
export type LeafCondition =
  | { kind: 'exists'; exists: boolean }
  | { kind: 'test'; test: (value: Leaf) => boolean };

type Compiler = (operand: unknown, path: string) => (value: Leaf) => boolean;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function expectString(operand: unknown, path: string, operator: string): string {
  if (typeof operand !== 'string')
    throw new InvalidEventPatternError(path, `${operator} match pattern must be a string`);
  return operand;
}

/** Compiles `{ prefix: 'x' }` or `{ prefix: { 'equals-ignore-case': 'x' } }` (and the same for suffix). */
function affixTest(operand: unknown, path: string, at: 'start' | 'end'): (value: Leaf) => boolean {
  const operator = at === 'start' ? 'prefix' : 'suffix';
  if (isRecord(operand)) {
    const keys = Object.keys(operand);
    if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
      throw new InvalidEventPatternError(
        path,
        `${operator} accepts a string or { "equals-ignore-case": string }`,
      );
    }
    const wanted = expectString(operand['equals-ignore-case'], path, operator).toLowerCase();
    return (v) =>
      typeof v === 'string' &&
      (at === 'start' ? v.toLowerCase().startsWith(wanted) : v.toLowerCase().endsWith(wanted));
  }
  const wanted = expectString(operand, path, operator);
  return (v) => typeof v === 'string' && (at === 'start' ? v.startsWith(wanted) : v.endsWith(wanted));
}

/** Translates an EventBridge wildcard (`*` = any run of characters, `\*` and `\\` escapes) to a RegExp. */
export function wildcardToRegExp(pattern: string, path: string): RegExp {
  let source = '';
  let previousWasStar = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\')
        throw new InvalidEventPatternError(path, 'Invalid escape in wildcard pattern');
      source += `\\${next}`;
      i++;
      previousWasStar = false;
    } else if (ch === '*') {
      if (previousWasStar)
        throw new InvalidEventPatternError(path, 'Consecutive wildcard characters are not allowed');
      source += '.*';
      previousWasStar = true;
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
      previousWasStar = false;
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function wildcardTest(operand: unknown, path: string): (value: Leaf) => boolean {
  const re = wildcardToRegExp(expectString(operand, path, 'wildcard'), path);
  return (v) => typeof v === 'string' && re.test(v);
}

function equalsIgnoreCaseTest(operand: unknown, path: string): (value: Leaf) => boolean {
  const wanted = expectString(operand, path, 'equals-ignore-case').toLowerCase();
  return (v) => typeof v === 'string' && v.toLowerCase() === wanted;
}

const NUMERIC_OPS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Compiles `{ numeric: ['>', 0, '<=', 5] }`: one comparison, or a range with one lower and one upper bound. */
function numericTest(operand: unknown, path: string): (value: Leaf) => boolean {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw new InvalidEventPatternError(path, 'numeric expects [op, number] or [op, number, op, number]');
  }
  const checks: Array<{ op: string; bound: number }> = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op = operand[i];
    const bound = operand[i + 1];
    if (typeof op !== 'string' || !(op in NUMERIC_OPS)) {
      throw new InvalidEventPatternError(path, `Unrecognized numeric range operator: ${JSON.stringify(op)}`);
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new InvalidEventPatternError(path, `Value of ${op} must be a number`);
    }
    checks.push({ op, bound });
  }
  if (checks.length === 2) assertRange(checks, path);
  return (v) =>
    typeof v === 'number' && checks.every(({ op, bound }) => NUMERIC_OPS[op]?.(v, bound) === true);
}

function assertRange(checks: Array<{ op: string; bound: number }>, path: string): void {
  const lower = checks.find((c) => c.op === '>' || c.op === '>=');
  const upper = checks.find((c) => c.op === '<' || c.op === '<=');
  if (!lower || !upper)
    throw new InvalidEventPatternError(path, 'A numeric range needs one lower and one upper bound');
  if (lower.bound >= upper.bound) throw new InvalidEventPatternError(path, 'Bottom must be less than top');
}

/** Compiles `{ cidr: '10.0.0.0/24' }` (IPv4 or IPv6); a bare address means that one address. */
function cidrTest(operand: unknown, path: string): (value: Leaf) => boolean {
  const text = expectString(operand, path, 'cidr');
  const [address = '', bits, extra] = text.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (family === 0 || extra !== undefined || !/^\d*$/.test(bits ?? '') || !(prefix >= 0 && prefix <= max)) {
    throw new InvalidEventPatternError(path, `Malformed CIDR: ${JSON.stringify(text)}`);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(address, prefix, type);
  return (v) => typeof v === 'string' && isIP(v) === family && list.check(v, type);
}

function anythingButTest(operand: unknown, path: string): (value: Leaf) => boolean {
  if (isRecord(operand)) {
    const keys = Object.keys(operand);
    const key = keys[0];
    if (keys.length !== 1 || key === undefined || !(key in ANYTHING_BUT_NESTED)) {
      throw new InvalidEventPatternError(
        path,
        'anything-but accepts prefix, suffix, equals-ignore-case or wildcard',
      );
    }
    const inner = ANYTHING_BUT_NESTED[key] as Compiler;
    const values = Array.isArray(operand[key]) ? (operand[key] as unknown[]) : [operand[key]];
    if (values.length === 0)
      throw new InvalidEventPatternError(path, `anything-but ${key} list must not be empty`);
    const tests = values.map((x) => inner(x, path));
    return (v) => typeof v === 'string' && !tests.some((t) => t(v));
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  const allStrings = excluded.every((x) => typeof x === 'string');
  const allNumbers = excluded.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (excluded.length === 0 || !(allStrings || allNumbers)) {
    throw new InvalidEventPatternError(
      path,
      'anything-but takes a string, a number, or a list of only strings or only numbers',
    );
  }
  return (v) => !excluded.includes(v);
}

const ANYTHING_BUT_NESTED: Record<string, Compiler> = {
  prefix: (x, p) => affixTest(expectString(x, p, 'anything-but prefix'), p, 'start'),
  suffix: (x, p) => affixTest(expectString(x, p, 'anything-but suffix'), p, 'end'),
  'equals-ignore-case': equalsIgnoreCaseTest,
  wildcard: wildcardTest,
};

const OPERATORS: Record<string, Compiler> = {
  prefix: (x, p) => affixTest(x, p, 'start'),
  suffix: (x, p) => affixTest(x, p, 'end'),
  'equals-ignore-case': equalsIgnoreCaseTest,
  'anything-but': anythingButTest,
  numeric: numericTest,
  cidr: cidrTest,
  wildcard: wildcardTest,
};

/** Compiles one element of a pattern's value array (`"x"`, `5`, `null`, `{ prefix: ... }`, ...). */
export function compileCondition(raw: unknown, path: string): LeafCondition {
  if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') {
    return { kind: 'test', test: (v) => v === raw };
  }
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new InvalidEventPatternError(path, 'Numbers must be finite');
    return { kind: 'test', test: (v) => v === raw };
  }
  if (!isRecord(raw))
    throw new InvalidEventPatternError(
      path,
      'Match value must be String, number, true, false, null or an operator object',
    );
  const keys = Object.keys(raw);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) {
    throw new InvalidEventPatternError(
      path,
      `An operator object must have exactly one key, got ${JSON.stringify(keys)}`,
    );
  }
  if (key === 'exists') {
    if (typeof raw.exists !== 'boolean')
      throw new InvalidEventPatternError(path, 'exists match pattern must be either true or false');
    return { kind: 'exists', exists: raw.exists };
  }
  const compile = OPERATORS[key];
  if (!compile) throw new InvalidEventPatternError(path, `Unrecognized match type ${key}`);
  return { kind: 'test', test: compile(raw[key], path) };
}
