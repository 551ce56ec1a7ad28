import { html } from 'htm/preact';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  type Conflict,
  control,
  type Execution,
  type MapView,
  type Readiness,
  type ReportEntry,
  type Status,
} from './api.ts';
import { REGION_COLOURS } from './charts.ts';
import { Conflicts, ExecutionCard, ReadinessView, Reports, RunbookStarter } from './operations.ts';
import { LagChart, PartitionMap, Topology } from './topology.ts';

type Links = Array<{ from: string; to: string; points: Array<{ at: number; p50Ms: number; p99Ms: number }> }>;

/** Polls `load` every `everyMs` (and when `tick` changes); keeps the last good value. */
function usePoll<T>(load: () => Promise<T>, everyMs: number, tick: number): T | undefined {
  const [value, setValue] = useState<T | undefined>();
  useEffect(() => {
    let alive = true;
    const run = () =>
      load()
        .then((v) => alive && setValue(v))
        .catch(() => undefined);
    void run();
    const timer = setInterval(run, everyMs);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [tick]);
  return value;
}

function App() {
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  const status = usePoll(() => control<Status>({ action: 'status' }), 2_000, tick);
  const map = usePoll(() => control<MapView>({ action: 'map' }), 5_000, tick);
  const lag = usePoll(() => control<{ links: Links }>({ action: 'lag-series' }), 5_000, tick);
  const executions = usePoll(
    () => control<{ executions: Execution[] }>({ action: 'executions', steps: true }),
    1_000,
    tick,
  );
  const conflicts = usePoll(() => control<{ open: Conflict[] }>({ action: 'conflicts-list' }), 3_000, tick);
  const readiness = usePoll(() => control<Readiness>({ action: 'readiness' }), 10_000, tick);
  const reports = usePoll(() => control<{ reports: ReportEntry[] }>({ action: 'reports' }), 10_000, tick);
  if (!status) return html`<div style="padding:20px">connecting to the control endpoint…</div>`;
  const names = status.regions.map((r) => r.region);
  const colourOf = (region: string) =>
    REGION_COLOURS[Math.max(0, names.indexOf(region)) % REGION_COLOURS.length]!;
  const healthy = status.regions.filter((r) => r.healthy && !r.down).length;
  return html`<header>
      <h1>multiactive</h1><span class="env">env ${status.env} · ${status.target === 'aws' ? 'AWS' : 'sandbox'} · version ${status.version}</span>
      <span class="spacer"></span>
      <span class=${`badge ${healthy === names.length ? 'ok' : 'bad'}`}>${healthy}/${names.length} regions healthy</span>
      <span id="readiness-badge" class=${`badge ${readiness ? (readiness.ready ? 'ok' : 'bad') : 'muted'}`}>${readiness ? (readiness.ready ? 'READY for failover' : 'NOT READY') : '…'}</span>
    </header>
    <main>
      <section class="span-7" id="topology"><h2>Topology</h2><${Topology} status=${status} colourOf=${colourOf} /></section>
      <section class="span-5"><h2>Replication lag, last 5 min</h2><${LagChart} links=${lag?.links ?? []} colourOf=${colourOf} /></section>
      <section class="span-7" id="runbooks"><h2>Runbook executions</h2>
        <${RunbookStarter} regions=${names} onStarted=${refresh} />
        ${(executions?.executions ?? []).slice(0, 6).map((e) => html`<${ExecutionCard} execution=${e} />`)}
        ${executions && executions.executions.length === 0 ? html`<div class="empty">no executions yet</div>` : null}
      </section>
      <section class="span-5" id="partitions"><h2>Partition map</h2>${map ? html`<${PartitionMap} map=${map} colourOf=${colourOf} />` : 'reading…'}</section>
      <section class="span-6" id="conflicts"><h2>Conflict queue <span class="badge muted">${conflicts?.open.length ?? 0}</span></h2>
        <${Conflicts} conflicts=${conflicts?.open ?? []} onResolved=${refresh} /></section>
      <section class="span-6" id="readiness-section"><h2>Readiness</h2><${ReadinessView} readiness=${readiness} /></section>
      <section class="span-12" id="reports"><h2>Drill reports</h2><${Reports} reports=${reports?.reports ?? []} /></section>
    </main>`;
}

const root = document.getElementById('app')!;
root.textContent = '';
render(html`<${App} />`, root);
