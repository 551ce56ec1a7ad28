import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportHtml } from './html.ts';
import { reportMarkdown } from './markdown.ts';
import type { DrillReport } from './model.ts';

/** Writes `report.md`, `report.json` and `report.html` into `dir`; returns the three paths. */
export function writeReport(report: DrillReport, dir: string): { md: string; json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const paths = {
    md: join(dir, 'report.md'),
    json: join(dir, 'report.json'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(paths.md, reportMarkdown(report));
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(paths.html, reportHtml(report));
  return paths;
}
