import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DrillReport } from '../../ops/report/model.ts';
import { timelineBars } from '../../ops/report/timeline.ts';
import { type Conflict, control, type Execution, type Readiness, type ReportEntry } from './api.ts';
import { timelineChart } from './charts.ts';

const time = (iso: string | number) => new Date(iso).toLocaleTimeString();
const secs = (a: number, b: number | undefined) => `${(((b ?? Date.now()) - a) / 1000).toFixed(1)} s`;
const statusBadge = (s: string) => (s === 'SUCCEEDED' ? 'ok' : s === 'RUNNING' ? 'warn' : 'bad');

/** One execution with its steps as they happen. */
export function ExecutionCard(props: { execution: Execution }) {
  const e = props.execution;
  const name = e.stateMachine.replace(/^multiactive-[a-z0-9-]+?-(?=[A-Z])/, '');
  return html`<div class="execution" data-runbook=${name} data-status=${e.status}>
    <div class="title">${name} <span class="badge muted">in ${e.region}</span>
      <span class=${`badge ${statusBadge(e.status)}`}>${e.status}</span>
      <span class="when">${time(e.startDate)} · ${secs(Date.parse(e.startDate), e.stopDate ? Date.parse(e.stopDate) : undefined)}</span></div>
    <ul class="steps">
      ${(e.steps ?? []).map(
        (s) => html`<li class=${`step ${s.status}`} data-step=${s.name} title=${s.error ?? ''}>
          ${s.status === 'succeeded' ? '✓' : s.status === 'failed' ? '✗' : s.status === 'aborted' ? '⊘' : '…'} ${s.name}${s.visits > 1 ? ` ×${s.visits}` : ''}${
            s.iterations ? ` ${s.iterations.done}/${s.iterations.total ?? '?'}` : ''
          } <small>${secs(s.startedAt, s.endedAt)}</small></li>`,
      )}
    </ul>
    ${e.error ? html`<div class="meta">error: ${e.error}</div>` : null}
  </div>`;
}

/** The start form; every start goes through a confirmation dialog. */
export function RunbookStarter(props: { regions: string[]; onStarted: () => void }) {
  const [runbook, setRunbook] = useState('Failover');
  const [region, setRegion] = useState(props.regions[props.regions.length - 1] ?? '');
  const [pending, setPending] = useState<string | undefined>();
  const dialog = useRef<HTMLDialogElement>(null);
  const describe = () =>
    runbook === 'Repair'
      ? 'Repair every partition across all regions'
      : runbook === 'Failover'
        ? `Fail over ${region}: its partitions move to the nearest healthy region and it is drained`
        : `Fail back ${region}: catch up, reconcile orphans, switch its partitions back, undrain`;
  const confirm = async () => {
    dialog.current?.close();
    const input = runbook === 'Repair' ? {} : { region };
    setPending(`starting ${runbook}…`);
    try {
      await control({ action: 'runbook-start', runbook, options: input });
      setPending(undefined);
      props.onStarted();
    } catch (error) {
      setPending(`failed: ${(error as Error).message}`);
    }
  };
  return html`<div class="form">
      <select id="runbook-select" value=${runbook} onChange=${(ev: Event) => setRunbook((ev.target as HTMLSelectElement).value)}>
        <option>Failover</option><option>Failback</option><option>Repair</option>
      </select>
      ${
        runbook !== 'Repair'
          ? html`<select id="runbook-region" value=${region} onChange=${(ev: Event) => setRegion((ev.target as HTMLSelectElement).value)}>
            ${props.regions.map((r) => html`<option>${r}</option>`)}</select>`
          : null
      }
      <button class="primary" id="runbook-start" onClick=${() => dialog.current?.showModal()}>Start…</button>
      ${pending ? html`<span class="meta">${pending}</span>` : null}
      <dialog ref=${dialog} id="confirm-dialog">
        <h3>Start ${runbook}?</h3><p>${describe()}.</p><p class="meta">It runs as a Step Functions execution; every step is idempotent.</p>
        <div class="actions"><button onClick=${() => dialog.current?.close()}>Cancel</button>
          <button class="danger" id="confirm-start" onClick=${confirm}>Start ${runbook}</button></div>
      </dialog>
    </div>`;
}

/** Open manual conflicts, the competing events side by side, each with a "keep this" action. */
export function Conflicts(props: { conflicts: Conflict[]; onResolved: () => void }) {
  const [busy, setBusy] = useState<string | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  if (props.conflicts.length === 0) return html`<div class="empty">no open conflicts</div>`;
  const keep = async (c: Conflict, eventId: string) => {
    setBusy(eventId);
    setFailure(undefined);
    try {
      const run = await control<{ status: string; error?: string; taskErrors?: Array<{ cause?: string }> }>({
        action: 'conflicts-resolve',
        input: {
          aggregateType: c.aggregateType,
          aggregateId: c.aggregateId,
          resolution: { choose: eventId },
          resolvedBy: 'console',
        },
      });
      // A resolution that did not succeed leaves the conflict open: say why instead of doing nothing.
      if (run.status !== 'SUCCEEDED')
        setFailure(`${run.error ?? run.status}: ${run.taskErrors?.[0]?.cause ?? 'see the execution'}`);
    } catch (error) {
      setFailure(String((error as Error).message ?? error));
    } finally {
      setBusy(undefined);
      props.onResolved();
    }
  };
  return html`${failure ? html`<div class="error" role="alert">Not resolved: ${failure}</div>` : ''}${props.conflicts.map(
    (c) => html`<div class="conflict" data-aggregate=${`${c.aggregateType}/${c.aggregateId}`}>
      <strong>${c.aggregateType}/${c.aggregateId}</strong> <span class="meta">detected ${time(c.detectedAt)} · open in ${c.regions.join(', ')}</span>
      <div class="sides">${c.events.map(
        (
          e,
        ) => html`<div class="side"><div><span class="badge muted">${e.origin ?? '?'}</span> ${e.type ?? 'event'} <small>${e.hlc ?? ''}</small></div>
          <pre>${JSON.stringify(e.payload ?? {}, null, 1)}</pre>
          <button class="keep" data-event=${e.eventId} disabled=${busy !== undefined} onClick=${() => keep(c, e.eventId)}>Keep this version</button></div>`,
      )}</div></div>`,
  )}`;
}

/** Readiness checks with their reasons. */
export function ReadinessView(props: { readiness: Readiness | undefined }) {
  const r = props.readiness;
  if (!r) return html`<div class="empty">evaluating…</div>`;
  return html`<table id="readiness"><tbody>${r.checks.map(
    (c) =>
      html`<tr class=${`check ${c.ok ? 'ok' : 'bad'}`} data-check=${c.id}><td>${c.ok ? '✓' : '✗'}</td><td>${c.title}</td><td class="meta">${c.detail}</td></tr>`,
  )}</tbody></table><div class="meta">evaluated ${time(r.at)}</div>`;
}

/** Drill and runbook reports, with the selected one's timeline. */
export function Reports(props: { reports: ReportEntry[] }) {
  const [selected, setSelected] = useState<DrillReport | undefined>();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!selected && props.reports[0])
      void control<DrillReport>({ action: 'report', id: props.reports[0].id }).then(setSelected);
  }, [props.reports]);
  useEffect(() => {
    if (!selected || !canvas.current) return;
    const chart = timelineChart(canvas.current, timelineBars(selected));
    return () => chart.destroy();
  }, [selected]);
  if (props.reports.length === 0)
    return html`<div class="empty">no reports yet: run \`multiactive drill region-loss --region R\`</div>`;
  const bars = selected ? timelineBars(selected).length : 0;
  return html`<table><tbody>${props.reports.map(
    (r) => html`<tr><td><span class=${`badge ${r.ok ? 'ok' : 'bad'}`}>${r.ok ? 'ok' : 'issues'}</span></td>
        <td><a href="#" onClick=${(ev: Event) => {
          ev.preventDefault();
          void control<DrillReport>({ action: 'report', id: r.id }).then(setSelected);
        }}>${r.title}</a></td>
        <td>${time(r.startedAt)}</td><td>${secs(r.startedAt, r.endedAt)}</td><td><a href=${`/reports/${r.id}/report.html`} target="_blank">HTML</a></td></tr>`,
  )}</tbody></table>
    ${
      selected
        ? html`<h3 style="font-size:13px;margin:10px 0 4px">${selected.title}: timeline</h3>
      <div class="chart" style=${`height:${Math.max(140, bars * 16 + 50)}px`}><canvas ref=${canvas}></canvas></div>`
        : null
    }`;
}
