import type { TypeView } from './aggregates.ts';
import type { ChangeImpact } from './impact.ts';

const VERDICT: Readonly<Record<ChangeImpact['verdict'], string>> = {
  none: 'no impact',
  approval: 'impact: approval needed',
  refused: 'REFUSED',
};

const money = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;
const cell = (text: string) => text.replaceAll('|', '\\|');

/** `a -> **b**` when they differ, else `a`. */
function change(a: string | undefined, b: string | undefined): string {
  if (a === b) return cell(a ?? '-');
  return `${cell(a ?? '-')} → **${cell(b ?? '-')}**`;
}

function typeRow(type: string, a: TypeView | undefined, b: TypeView | undefined): string {
  const s = (v: TypeView | undefined, pick: (x: TypeView) => string) => (v ? pick(v) : undefined);
  return `| ${type} | ${[
    change(
      s(a, (x) => x.tier),
      s(b, (x) => x.tier),
    ),
    change(
      s(a, (x) => x.consistency),
      s(b, (x) => x.consistency),
    ),
    change(
      s(a, (x) => `${x.rtoSeconds} s`),
      s(b, (x) => `${x.rtoSeconds} s`),
    ),
    change(
      s(a, (x) => `${x.rpoSeconds} s`),
      s(b, (x) => `${x.rpoSeconds} s`),
    ),
    change(
      s(a, (x) => `${x.declared.rtoSeconds} s / ${x.declared.rpoSeconds} s${x.meets ? '' : ' (not met)'}`),
      s(b, (x) => `${x.declared.rtoSeconds} s / ${x.declared.rpoSeconds} s${x.meets ? '' : ' (not met)'}`),
    ),
  ].join(' | ')} |`;
}

function costSection(impact: ChangeImpact): string[] {
  const cost = impact.cost;
  if (!cost) return [];
  const delta = (a: number, b: number) => `${b >= a ? '+' : '-'}${money(Math.abs(b - a))}`;
  return [
    '',
    `## Cost (traffic "${cost.profile}", AWS list prices of ${cost.pricesAsOf})`,
    '',
    '| service | before | after | delta |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(cost.byService)
      .filter(([, v]) => Math.round(v.before) !== 0 || Math.round(v.after) !== 0)
      .map(([s, v]) => `| ${s} | ${money(v.before)} | ${money(v.after)} | ${delta(v.before, v.after)} |`),
    `| **total** | **${money(cost.before)}** | **${money(cost.after)}** | **${delta(cost.before, cost.after)}** |`,
  ];
}

/** The impact report as Markdown, for a change review (a pull request comment, a ticket). */
export function impactMarkdown(impact: ChangeImpact): string[] {
  const changed = impact.aggregates.filter((a) => a.impact !== 'none');
  return [
    `# Change impact: ${impact.env}, ${impact.current} against ${impact.against}`,
    '',
    `**Verdict: ${VERDICT[impact.verdict]}** (exit ${impact.exitCode})`,
    ...impact.reasons.map((r) => `- ${cell(r)}`),
    '',
    '## Aggregate types',
    '',
    '| type | tier | consistency | RTO (projected) | RPO (projected) | declared RTO / RPO |',
    '| --- | --- | --- | --- | --- | --- |',
    ...impact.aggregates.map((a) => typeRow(a.type, a.before, a.after)),
    ...(changed.length === 0
      ? ['', 'No aggregate type changes tier, consistency, conflict policy or RPO/RTO.']
      : []),
    '',
    '## Data movement',
    '',
    ...(impact.dataMove.required
      ? [
          ...impact.dataMove.why.map((w) => `- ${w}`),
          impact.dataMove.migration
            ? `- migration named: ${impact.dataMove.migration}`
            : '- no migration named: the change is refused (`--migration <plan>` names one)',
        ]
      : ['None: every key keeps its partition and every partition its home.']),
    ...(impact.regions.added.length + impact.regions.removed.length > 0
      ? [
          '',
          '## Regions',
          '',
          ...impact.regions.added.map((r) => `- added: ${r}`),
          ...impact.regions.removed.map((r) => `- removed: ${r}`),
        ]
      : []),
    ...costSection(impact),
    '',
    '## Runbooks, in order',
    '',
    ...(impact.runbooks.length === 0
      ? ['None.']
      : impact.runbooks.map(
          (s, i) =>
            `${i + 1}. **${s.phase}**: ${s.action}${s.command ? ` — \`${s.command}\`` : ''}. ${s.why}.`,
        )),
    ...(impact.settings.length > 0
      ? [
          '',
          '## Every changed setting',
          '',
          '| setting | before | after | impact |',
          '| --- | --- | --- | --- |',
          ...impact.settings.map(
            (s) =>
              `| ${s.path} | ${cell(JSON.stringify(s.before) ?? '-')} | ${cell(JSON.stringify(s.after) ?? '-')} | ${s.impact}: ${cell(s.note)} |`,
          ),
        ]
      : []),
  ];
}
