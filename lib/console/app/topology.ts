import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import type { LinkLag, MapView, RegionStatus, Status } from './api.ts';
import { type LagPoint, lagChart, updateLagChart } from './charts.ts';

const ms = (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v)} ms`);

/** Regions as cards: health, traffic state, breakers, dead letters. */
export function Topology(props: { status: Status; colourOf: (r: string) => string }) {
  const { status, colourOf } = props;
  const lagOf = (from: string, to: string): LinkLag | undefined =>
    status.lag.find((l) => l.from === from && l.to === to);
  return html`<div class="regions">
      ${status.regions.map((r) => {
        const healthy = r.healthy && !r.down;
        const openService = Object.entries(r.breakers?.service ?? {})
          .filter(([, s]) => s !== 'closed')
          .map(([p]) => p);
        return html`<div class=${`region ${healthy ? '' : 'unhealthy'}`} data-region=${r.region} data-healthy=${String(healthy)}>
          <div class="name"><span class="dot" style=${`background:${colourOf(r.region)}`}></span>${r.region}
            <span class=${`badge ${healthy ? 'ok' : 'bad'}`}>${r.down ? 'DOWN' : healthy ? 'healthy' : 'UNHEALTHY'}</span></div>
          <div class="meta">traffic ${r.traffic ?? '—'} · dead letters ${r.deadLetters}</div>
          <div class="meta">sync breaker ${r.degradedPeers.length ? html`<span class="badge warn">open: ${r.degradedPeers.join(', ')}</span>` : 'closed'}
            · service ${openService.length ? html`<span class="badge warn">${openService.join(', ')}</span>` : 'closed'}</div>
          <div class="meta">applied ${r.counters.applied ?? 0} · conflicts ${r.counters.conflictsDetected ?? 0}</div>
          <${ScheduledReadiness} readiness=${r.readiness} down=${r.down} />
        </div>`;
      })}
    </div>
    <table>
      <thead><tr><th>link</th><th>WAN</th><th>lag p50</th><th>lag p99</th><th>samples</th></tr></thead>
      <tbody>
        ${status.links.map((l) => {
          const lag = lagOf(l.from, l.to);
          const cut = l.partitioned || l.down;
          return html`<tr><td>${l.from} → ${l.to}</td>
            <td>${cut ? html`<span class="badge bad">cut</span>` : `${l.latencyMs ?? '?'} ms`}</td>
            <td>${ms(lag?.p50Ms)}</td><td>${ms(lag?.p99Ms)}</td><td>${lag?.samples ?? 0}</td></tr>`;
        })}
      </tbody>
    </table>`;
}

/** What the region's readiness function said last (every minute) and its alarm's state. */
function ScheduledReadiness(props: { readiness: RegionStatus['readiness']; down: boolean }) {
  const r = props.readiness;
  const alarm = r?.alarm ?? 'INSUFFICIENT_DATA';
  const tone = alarm === 'ALARM' ? 'bad' : alarm === 'OK' ? 'ok' : 'muted';
  // A region that is down runs no evaluation: its last one says nothing about now.
  const verdict = props.down
    ? html`<span class="badge muted">not running</span>`
    : r?.ready === undefined
      ? html`<span class="badge muted">not yet</span>`
      : html`<span class=${`badge ${r.ready ? 'ok' : 'bad'}`}>${r.ready ? 'ready' : 'NOT READY'}</span>`;
  const failing = !props.down && r?.ready === false && r.failing?.length ? r.failing.join(', ') : undefined;
  return html`<div class="meta scheduled-readiness" data-ready=${String(props.down ? undefined : r?.ready)} data-alarm=${alarm}>
      readiness ${verdict} <span class=${`badge ${tone}`}>alarm ${alarm}</span>
      ${failing ? html`<div>failing: ${failing}</div>` : null}</div>`;
}

/** Live lag chart (p50 solid, p99 dashed) over the last five minutes. */
export function LagChart(props: {
  links: Array<{ from: string; to: string; points: LagPoint[] }>;
  colourOf: (r: string) => string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ReturnType<typeof lagChart>>(undefined);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current ??= lagChart(canvas.current);
    updateLagChart(chart.current, props.links, props.colourOf);
  }, [props.links]);
  return html`<div class="chart"><canvas ref=${canvas} id="lag-chart"></canvas></div>`;
}

/** Every partition as a square coloured by its home; fenced hatched, hot flagged, no majority dashed. */
export function PartitionMap(props: { map: MapView; colourOf: (r: string) => string }) {
  const { map, colourOf } = props;
  const hot = new Set(map.hot);
  return html`<div class="grid" id="partition-map">
      ${map.partitions.map((p) => {
        const classes = [
          'cell',
          p.state === 'fenced' ? 'fenced' : '',
          hot.has(p.partition) ? 'hot' : '',
          p.majority ? '' : 'disagree',
        ];
        const title = `partition ${p.partition}: ${p.home ?? 'no home yet'}${p.state ? `, ${p.state}` : ''}${p.epoch !== undefined ? `, epoch ${p.epoch}` : ''}${hot.has(p.partition) ? ', hot' : ''}${p.majority ? '' : ', NO MAJORITY'}`;
        return html`<div class=${classes.join(' ')} title=${title} data-home=${p.home ?? ''}
          style=${`background-color:${p.home ? colourOf(p.home) : '#e6eaee'}`}></div>`;
      })}
    </div>
    <div class="legend">
      ${Object.entries(map.perHome).map(([home, n]) => html`<span><span class="swatch" style=${`background:${colourOf(home)}`}></span>${home}: ${n}</span>`)}
      <span><span class="swatch" style="background:#e6eaee"></span>no home yet</span>
      <span>fenced: ${map.fenced.length}</span><span>hot (dot): ${map.hot.length}</span>
      <span>without majority: ${map.disagreeing.length}</span>
    </div>`;
}
