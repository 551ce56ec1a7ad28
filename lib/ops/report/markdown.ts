import type { DrillReport } from './model.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const secs = (ms: number | undefined) => (ms === undefined ? 'running' : `${(ms / 1000).toFixed(1)} s`);
const cell = (v: unknown) => String(v).replace(/\|/g, '\\|');

function executionLines(report: DrillReport): string[] {
  const lines: string[] = [];
  for (const e of report.executions) {
    lines.push('', `### ${e.runbook} in ${e.region}: ${e.status}`, '', `\`${e.executionArn}\``, '');
    lines.push('| step | start | end | duration | status |', '| --- | --- | --- | --- | --- |');
    for (const s of e.steps) {
      const extra =
        s.visits > 1
          ? ` (${s.visits}×)`
          : s.iterations
            ? ` (${s.iterations.done}/${s.iterations.total ?? '?'})`
            : '';
      const duration = secs(s.endedAt === undefined ? undefined : s.endedAt - s.startedAt);
      const status = `${s.status}${s.error ? `: ${cell(s.error)}` : ''}`;
      lines.push(
        `| ${cell(s.name)}${extra} | ${iso(s.startedAt)} | ${s.endedAt ? iso(s.endedAt) : '—'} | ${duration} | ${status} |`,
      );
    }
  }
  return lines;
}

function objectiveLines(report: DrillReport): string[] {
  const show = (v: number | undefined) => (v === undefined ? 'n/a' : `${v} s`);
  return [
    '',
    '## Objectives (declared in the topology)',
    '',
    '| tier | RTO measured / declared | RPO measured / declared | met | note |',
    '| --- | --- | --- | --- | --- |',
    ...report.objectives.map(
      (o) =>
        `| ${o.tier} | ${show(o.rtoSeconds)} / ${o.declared.rtoSeconds} s | ${show(o.rpoSeconds)} / ${o.declared.rpoSeconds} s | ${o.met ? 'yes' : '**NO**'} | ${cell(o.note)} |`,
    ),
    '',
    '## Figures',
    '',
    '| figure | value | target | met |',
    '| --- | --- | --- | --- |',
    ...report.figures.map(
      (f) =>
        `| ${cell(f.figure)} | ${f.value} ${f.unit} | ${cell(f.target)} | ${f.met === null ? '—' : f.met ? 'yes' : '**NO**'} |`,
    ),
  ];
}

/** The report as Markdown (for a ticket or a wiki page). */
export function reportMarkdown(report: DrillReport): string {
  const { atRisk, recovered, lost, queuedForOperator } = report.events;
  const { detected, resolved, manual } = report.conflicts;
  return [
    `# ${report.title}`,
    '',
    `Environment \`${report.env}\` (${report.target}), ${iso(report.startedAt)} → ${iso(report.endedAt)} (${secs(report.endedAt - report.startedAt)}).`,
    '',
    '## Timeline',
    '',
    '| phase | start | duration |',
    '| --- | --- | --- |',
    ...report.phases.map(
      (p) => `| ${cell(p.name)} | ${iso(p.startedAt)} | ${secs(p.endedAt - p.startedAt)} |`,
    ),
    '',
    '## Runbook executions',
    ...executionLines(report),
    ...objectiveLines(report),
    '',
    '## Data',
    '',
    `- events at risk at failover: ${atRisk}; recovered: ${recovered}; lost: ${lost}; core orphans queued for an operator: ${queuedForOperator}`,
    `- conflicts raised: ${detected} (resolved by policy ${resolved}, manual queue ${manual})`,
    `- consistency: ${report.consistency ? report.consistency.verdict : 'not checked'}`,
    '',
    '## What went wrong',
    '',
    ...report.wentWrong.map((w) => `- ${w}`),
    '',
    '## What to improve',
    '',
    ...report.toImprove.map((w) => `- ${w}`),
    '',
  ].join('\n');
}
