import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DrillReport, writeReport } from '../../ops/report/index.ts';
import { runRegionLossDrill } from '../drill/region-loss.ts';
import type { Sandbox } from '../platform/sandbox.ts';

/** A drill running (or run) inside the sandbox process; the CLI and the console poll it. */
interface DrillRun {
  readonly id: string;
  readonly region: string;
  readonly lines: string[];
  done: boolean;
  error?: string;
  reportId?: string;
}

/** Runs drills in the sandbox and keeps their reports under `dir` (one folder per report). */
export class DrillRegistry {
  private readonly runs = new Map<string, DrillRun>();
  private counter = 0;

  constructor(
    private readonly sandbox: Sandbox,
    readonly dir: string,
  ) {}

  /** Starts a region-loss drill; one at a time (a second would kill regions under the first). */
  start(region: string, phaseMs: number): { id: string } {
    if ([...this.runs.values()].some((r) => !r.done)) throw new Error('a drill is already running');
    this.sandbox.region(region);
    const run: DrillRun = { id: `drill-${++this.counter}`, region, lines: [], done: false };
    this.runs.set(run.id, run);
    const log = (line: string) => run.lines.push(`${new Date().toISOString()} ${line}`);
    void runRegionLossDrill(this.sandbox, { region, phaseMs, log })
      .then(({ report }) => {
        writeReport(report, join(this.dir, report.id));
        run.reportId = report.id;
      })
      .catch((error: unknown) => {
        run.error = error instanceof Error ? error.message : String(error);
      })
      .finally(() => {
        run.done = true;
      });
    return { id: run.id };
  }

  /** Progress lines so far, and the report's id once written. */
  status(id: string, fromLine = 0) {
    const run = this.runs.get(id);
    if (!run) throw new Error(`no drill ${id}`);
    return { ...run, lines: run.lines.slice(fromLine), nextLine: run.lines.length };
  }

  /** Every report written under `dir`, newest first (drills and runbook reports). */
  reports(): Array<Pick<DrillReport, 'id' | 'title' | 'startedAt' | 'endedAt'> & { ok: boolean }> {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((id) => existsSync(join(this.dir, id, 'report.json')))
      .map((id) => JSON.parse(readFileSync(join(this.dir, id, 'report.json'), 'utf8')) as DrillReport)
      .map((r) => ({
        id: r.id,
        title: r.title,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        ok: r.executions.every((e) => e.status === 'SUCCEEDED') && (r.consistency?.passed ?? true),
      }))
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /** One report (JSON), or undefined. */
  report(id: string): DrillReport | undefined {
    const file = join(this.dir, id, 'report.json');
    if (!/^[\w.-]+$/.test(id) || !existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as DrillReport;
  }

  /** Path of a report's HTML page (for the console's link), if it exists. */
  htmlPath(id: string): string | undefined {
    const file = join(this.dir, id, 'report.html');
    return /^[\w.-]+$/.test(id) && existsSync(file) ? file : undefined;
  }
}
