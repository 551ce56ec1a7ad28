import { z } from 'zod';

/**
 * Longest aggregate id the edge accepts. The id ends up in DynamoDB keys (`<type>#<id>` in the events and
 * state tables, `CONFLICT#<type>#<id>` and the parking key in the replication table): with a type of at
 * most 63 characters the longest key stays far below the 1,024-byte sort-key and 2,048-byte partition-key
 * limits, and below the envelope's own limit (200), so a peer never quarantines what the edge accepted.
 */
export const MAX_AGGREGATE_ID_LENGTH = 200;

/**
 * Characters of an aggregate id: ASCII letters, digits and `. _ ~ : @ + = -`, starting with a letter or
 * digit. `#` separates key parts, `/` and `%` would change the route, and whitespace or control
 * characters make ids that look alike.
 */
export const AGGREGATE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~:@+=-]*$/;

/** Aggregate type names, as the topology config allows them (lower-case letters, digits, dashes). */
export const AGGREGATE_TYPE_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** An aggregate id as a request may carry it. */
export const aggregateIdSchema = z
  .string()
  .min(1)
  .max(MAX_AGGREGATE_ID_LENGTH)
  .regex(AGGREGATE_ID_PATTERN, 'letters, digits and . _ ~ : @ + = - only, starting with a letter or digit');

/**
 * Keys a JSON body may never carry, at any depth: on a plain object they reach (or replace) the
 * prototype, which is how prototype-poisoning attacks get in.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest nesting a JSON body may have: deeper bodies are refused before anything walks them. */
export const MAX_JSON_DEPTH = 32;

/** What a body's keys look like: forbidden keys by path, and whether it nests deeper than allowed. */
export interface JsonShape {
  readonly forbiddenKeys: string[];
  readonly tooDeep: boolean;
}

/**
 * Walks a parsed JSON value (iteratively: a deep body cannot exhaust the stack) and reports the paths
 * (`a.b.0.c`) of forbidden keys and whether it nests deeper than `maxDepth`.
 */
export function inspectJson(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonShape {
  const forbiddenKeys: string[] = [];
  const pending: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.path.length >= maxDepth) return { forbiddenKeys, tooDeep: true };
    for (const key of Object.keys(next.value)) {
      const path = [...next.path, key];
      if (FORBIDDEN_KEYS.has(key)) forbiddenKeys.push(path.join('.'));
      pending.push({ value: (next.value as Record<string, unknown>)[key], path });
    }
  }
  return { forbiddenKeys, tooDeep: false };
}
