import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  CategoryScale,
  BarController,
  BarElement,
  Legend,
  Tooltip,
);

export const REGION_COLOURS = ['#1f77b4', '#e07b1a', '#2ca02c', '#9467bd', '#8c564b'];

export interface LagPoint {
  at: number;
  p50Ms: number;
  p99Ms: number;
}

/** A line chart of lag p50/p99 per link over the last minutes; updated in place on every poll. */
export function lagChart(canvas: HTMLCanvasElement): Chart<'line', Array<{ x: number; y: number }>> {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, font: { size: 10 } } } },
      scales: {
        x: {
          type: 'linear',
          min: -300,
          max: 0,
          title: { display: true, text: 'seconds ago' },
          ticks: { stepSize: 60, callback: (v) => `${Math.round(-Number(v))}` },
        },
        y: { type: 'logarithmic', min: 10, title: { display: true, text: 'lag ms (log)' } },
      },
    },
  });
}

/** Replaces the chart's series: two per link (p50 solid, p99 dashed), x in seconds relative to now. */
export function updateLagChart(
  chart: Chart<'line', Array<{ x: number; y: number }>>,
  links: Array<{ from: string; to: string; points: LagPoint[] }>,
  colourOf: (region: string) => string,
): void {
  const now = Date.now();
  chart.data.datasets = links.flatMap((link) => {
    const colour = colourOf(link.from);
    const xs = link.points.map((p) => (p.at - now) / 1000);
    return [
      {
        label: `${link.from}→${link.to} p50`,
        data: link.points.map((p, i) => ({ x: xs[i]!, y: p.p50Ms })),
        borderColor: colour,
        backgroundColor: colour,
        pointRadius: 0,
        borderWidth: 1.5,
      },
      {
        label: `${link.from}→${link.to} p99`,
        data: link.points.map((p, i) => ({ x: xs[i]!, y: p.p99Ms })),
        borderColor: colour,
        backgroundColor: colour,
        pointRadius: 0,
        borderWidth: 1,
        borderDash: [4, 3],
      },
    ];
  });
  chart.update();
}

/** A horizontal floating-bar timeline (a drill report's phases and runbook steps). */
export function timelineChart(
  canvas: HTMLCanvasElement,
  bars: Array<{ label: string; from: number; to: number; colour: string }>,
): Chart {
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: bars.map((b) => b.label),
      datasets: [
        {
          data: bars.map((b) => [b.from, Math.max(b.to, b.from + 0.05)] as [number, number]),
          backgroundColor: bars.map((b) => b.colour),
          barPercentage: 0.8,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds since the start' } },
        y: { ticks: { font: { size: 10 } } },
      },
    },
  });
}
