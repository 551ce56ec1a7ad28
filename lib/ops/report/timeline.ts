import type { DrillReport } from './model.ts';

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
      const colour = s.status === 'failed' ? '#d64545' : s.status === 'running' ? '#e0a030' : '#2f8f5b';
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
