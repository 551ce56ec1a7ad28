import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { reportMarkdown } from './markdown.ts';
import type { DrillReport } from './model.ts';
import { timelineBars } from './timeline.ts';

const require = createRequire(import.meta.url);
let chartSource: string | undefined;

/** Chart.js's UMD build, inlined so the page needs nothing but itself. */
function chartJs(): string {
  // The package exports no UMD subpath: find it beside the CommonJS entry (dist/chart.cjs).
  chartSource ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartSource;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Turns the report's Markdown tables and lists into HTML (the page shows the same text as the .md). */
function markdownToHtml(markdown: string): string {
  const out: string[] = [];
  let table: string[][] | undefined;
  const flush = () => {
    if (!table) return;
    const [head, , ...rows] = table;
    out.push(
      `<table><thead><tr>${head!.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`,
    );
    table = undefined;
  };
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\\\|/g, '|');
  for (const line of markdown.split('\n')) {
    if (line.startsWith('|')) {
      table ??= [];
      table.push(
        line
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => inline(c.trim())),
      );
      continue;
    }
    flush();
    if (line.startsWith('### ')) out.push(`<h3>${inline(line.slice(4))}</h3>`);
    else if (line.startsWith('## ')) out.push(`<h2>${inline(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) out.push(`<h1>${inline(line.slice(2))}</h1>`);
    else if (line.startsWith('- ')) out.push(`<li>${inline(line.slice(2))}</li>`);
    else if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  flush();
  return out.join('\n');
}

/**
 * The report as one self-contained HTML page: the Markdown's content plus a timeline chart (Chart.js,
 * inlined) of the scenario's phases and every runbook step.
 */
export function reportHtml(report: DrillReport): string {
  const bars = timelineBars(report);
  const body = markdownToHtml(reportMarkdown(report));
  const [title, ...rest] = body.split('\n');
  const height = Math.max(160, bars.length * 22 + 60);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2630;padding:0 16px}
table{border-collapse:collapse;margin:8px 0 16px;width:100%}td,th{border:1px solid #d5dbe1;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f5}code{background:#eef2f5;padding:1px 4px;border-radius:3px;font-size:12px}
h2{border-bottom:1px solid #d5dbe1;padding-bottom:4px;margin-top:28px}li{margin:2px 0}
#timeline-box{position:relative;height:${height}px}
</style></head><body>
${title}
<h2>Timeline chart</h2>
<div id="timeline-box"><canvas id="timeline" aria-label="timeline of phases and runbook steps"></canvas></div>
${rest.join('\n')}
<script>${chartJs()}</script>
<script>
const bars = ${JSON.stringify(bars).replace(/</g, '\\u003c')};
new Chart(document.getElementById('timeline'), {
  type: 'bar',
  data: { labels: bars.map((b) => b.label), datasets: [{ data: bars.map((b) => [b.from, Math.max(b.to, b.from + 0.05)]), backgroundColor: bars.map((b) => b.colour), borderSkipped: false, barPercentage: 0.8 }] },
  options: { indexAxis: 'y', maintainAspectRatio: false, animation: false, plugins: { legend: { display: false },
    tooltip: { callbacks: { label: (c) => c.raw[0] + ' s → ' + c.raw[1] + ' s' } } },
    scales: { x: { type: 'linear', title: { display: true, text: 'seconds since the start' } } } },
});
</script>
</body></html>
`;
}
