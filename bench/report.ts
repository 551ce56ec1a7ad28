import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Figure } from '../lib/ops/figures.ts';

export type { Figure };

export interface BenchResult {
  readonly at: string;
  readonly machine: { cpus: number; node: string };
  readonly figures: readonly Figure[];
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Percentile (nearest-rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Rounds for display and JSON (3 significant decimals are plenty for ms and ops/s). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Writes `bench/results/<name>.json` in the shared shape and returns it. */
export function writeResult(name: string, figures: readonly Figure[]): BenchResult {
  const result: BenchResult = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    figures,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** The figures as a Markdown table (also readable in a terminal). */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.figure,
    `${f.value} ${f.unit}`,
    f.target,
    f.met === null ? '—' : f.met ? 'yes' : 'NO',
  ]);
  const header = ['figure', 'value', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
