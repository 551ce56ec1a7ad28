import type { ExecutionStep } from '../history.ts';
import type { DrillReport } from './model.ts';

const STEP_COLOURS: Record<ExecutionStep['status'], string> = {
  failed: '#d64545',
  running: '#e0a030',
  aborted: '#9a8fb0',
  succeeded: '#2f8f5b',
};

/** Bars of the timeline: [label, start s, end s, colour], seconds from the report's start. */
export function timelineBars(
  report: DrillReport,
): Array<{ label: string; from: number; to: number; colour: string }> {
  const t = (ms: number) => Math.round((ms - report.startedAt) / 100) / 10;
  const bars = report.phases.map((p) => ({
    label: p.name,
    from: t(p.startedAt),
    to: t(p.endedAt),
    colour: '#7f8c9d',
  }));
  for (const e of report.executions) {
    for (const s of e.steps) {
      const colour = STEP_COLOURS[s.status];
      bars.push({
        label: `${e.runbook} · ${s.name}`,
        from: t(s.startedAt),
        to: t(s.endedAt ?? report.endedAt),
        colour,
      });
    }
  }
  return bars;
}
