import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/index.ts';
import type { Runbook } from './ports.ts';

/**
 * The execution name the CLI and the console start a runbook under: the runbook, a hash of its input and
 * the UTC hour. Asking twice for the same runbook with the same input within the hour (a retried command,
 * two operators clicking) names the same execution, and Step Functions starts it once: StartExecution
 * with a running execution's name and input returns that execution. A later hour is a new execution (names
 * stay reserved for 90 days). `--execution-name` overrides it.
 * @example executionNameFor('Failover', { region: 'us-east-1' }, new Date('2026-11-30T14:05:00Z')) // 'Failover-3f2a...-20261130T14'
 */
export function executionNameFor(runbook: Runbook, input: unknown, now: Date): string {
  const digest = createHash('sha256').update(canonicalJson(input)).digest('hex').slice(0, 16);
  const hour = now.toISOString().slice(0, 13).replace(/[-:]/g, '');
  return `${runbook}-${digest}-${hour}`;
}

/** Step Functions' rule for execution names: 1-80 characters of letters, digits, `-` and `_`. */
export function isValidExecutionName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,80}$/.test(name);
}
