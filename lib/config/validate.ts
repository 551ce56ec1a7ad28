import type { z } from 'zod';
import { fencingBudgetIssues } from '../ownership/fencing-budget.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { type Topology, type TopologyInput, topologySchema } from './schema.ts';

/** Formats a zod issue path as `regions[2].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function duplicates<T>(
  items: readonly T[],
  key: (item: T) => string,
): Array<{ index: number; value: string }> {
  const seen = new Set<string>();
  const found: Array<{ index: number; value: string }> = [];
  items.forEach((item, index) => {
    const value = key(item);
    if (seen.has(value)) found.push({ index, value });
    seen.add(value);
  });
  return found;
}

function namesAt(input: unknown, list: string, field: string): string[] {
  const items = (input as Record<string, unknown> | null)?.[list];
  if (!Array.isArray(items)) return [];
  return items.map((item: unknown) => String((item as Record<string, unknown> | null)?.[field] ?? ''));
}

/** Duplicates are checked on the raw input so they are reported together with schema problems. */
function duplicateIssues(input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const { index, value } of duplicates(namesAt(input, 'regions', 'name'), (name) => name)) {
    issues.push({ path: `regions[${index}].name`, message: `duplicate region "${value}"` });
  }
  for (const { index, value } of duplicates(namesAt(input, 'aggregates', 'type'), (type) => type)) {
    issues.push({ path: `aggregates[${index}].type`, message: `duplicate aggregate type "${value}"` });
  }
  return issues;
}

function crossFieldIssues(topology: Topology): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set(topology.regions.map((r) => r.name));
  for (const key of Object.keys(topology.latencyMs)) {
    const pair = key.split('|');
    const unknown = pair.filter((name) => !names.has(name));
    if (pair.length !== 2 || unknown.length > 0) {
      issues.push({
        path: `latencyMs.${key}`,
        message: `must name two configured regions as "a|b"${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
      });
    }
  }
  if (topology.thresholds.recoverLagMs >= topology.thresholds.degradeLagMs) {
    issues.push({
      path: 'thresholds.recoverLagMs',
      message: `must be below degradeLagMs (${topology.thresholds.degradeLagMs}) so the sync breaker has hysteresis`,
    });
  }
  const scheduleRegion = topology.repair.scheduleRegion;
  if (scheduleRegion !== undefined && !names.has(scheduleRegion)) {
    issues.push({
      path: 'repair.scheduleRegion',
      message: `must be a configured region; got "${scheduleRegion}"`,
    });
  }
  if (topology.gtm.policy === 'weighted' && topology.regions.every((r) => r.weight === 0)) {
    issues.push({ path: 'regions', message: 'weighted routing needs at least one region with weight > 0' });
  }
  const copyTo = topology.tables.backup?.copyTo;
  if (copyTo !== undefined && !names.has(copyTo)) {
    issues.push({ path: 'tables.backup.copyTo', message: `must be a configured region; got "${copyTo}"` });
  }
  for (const { field, message } of fencingBudgetIssues(topology.fencing))
    issues.push({ path: `fencing.${field}`, message });
  return issues;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/**
 * Validates a topology and fills in defaults; throws a `ConfigError` listing every problem by path.
 * @example parseTopology(json, 'config/envs/dev.json').regions[0].name
 */
export function parseTopology(input: unknown, source = '(inline)'): Topology {
  const parsed = topologySchema.safeParse(input);
  const issues = duplicateIssues(input);
  if (!parsed.success) throw new ConfigError(source, [...zodIssues(parsed.error), ...issues]);
  issues.push(...crossFieldIssues(parsed.data));
  if (issues.length > 0) throw new ConfigError(source, issues);
  return parsed.data;
}

/** Identity helper that type-checks a topology written in TypeScript. */
export function defineTopology(input: TopologyInput): TopologyInput {
  return input;
}
