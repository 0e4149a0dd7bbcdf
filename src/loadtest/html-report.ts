// The load test report as one self-contained HTML file: summary tables and inline SVG charts (latency over
// time, throughput, errors). No script, no stylesheet or font from elsewhere: it opens offline.
import type { LoadReport, TimelineSecond } from './load-runner.js';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Series {
  label: string;
  color: string;
  values: number[];
}

/** A line (or bar) chart of per-second series, as an SVG element with axes, ticks and a legend. */
export function svgChart(title: string, unit: string, seconds: number[], series: Series[], kind: 'line' | 'bar' = 'line'): string {
  const width = 720;
  const height = 240;
  const left = 56;
  const right = 16;
  const top = 28;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxValue = Math.max(1, ...series.flatMap((s) => s.values));
  const niceMax = niceCeiling(maxValue);
  const n = Math.max(seconds.length, 1);
  // Lines run edge to edge; bars sit in one band per second, so none crosses the axes.
  const x = (i: number): number => (kind === 'bar' ? left + ((i + 0.5) * plotW) / n : left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1)));
  const y = (v: number): number => top + plotH - (v / niceMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="18" font-size="14" font-family="sans-serif" font-weight="bold">${escape(title)}</text>`);
  for (let t = 0; t <= 4; t++) {
    const v = (niceMax * t) / 4;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" font-size="11" font-family="sans-serif" text-anchor="end">${formatNumber(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 10));
  seconds.forEach((s, i) => {
    if (i % step === 0) parts.push(`<text x="${x(i)}" y="${height - bottom + 16}" font-size="11" font-family="sans-serif" text-anchor="middle">${s}s</text>`);
  });
  parts.push(`<text x="${width - right}" y="${height - 4}" font-size="11" font-family="sans-serif" text-anchor="end">${escape(unit)}</text>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/><line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  series.forEach((s, k) => {
    if (kind === 'bar') {
      const barW = Math.max(2, plotW / n / (series.length + 1));
      s.values.forEach((v, i) => {
        const bx = x(i) - (barW * series.length) / 2 + k * barW;
        parts.push(`<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${s.color}"/>`);
      });
    } else {
      const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      s.values.forEach((v, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`));
    }
    parts.push(`<rect x="${left + 10 + k * 150}" y="${top + 4}" width="12" height="12" fill="${s.color}"/><text x="${left + 26 + k * 150}" y="${top + 14}" font-size="12" font-family="sans-serif">${escape(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function niceCeiling(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en') : v.toFixed(1);
}

function row(cells: Array<string | number>, header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escape(String(c))}</${tag}>`).join('')}</tr>`;
}

export function htmlReport(report: LoadReport): string {
  const t: TimelineSecond[] = report.timeline;
  const seconds = t.map((s) => s.second);
  const s = report.scenario;
  const m = report.messages;
  const latencyRows = [
    ['connection (connect, TLS, SASL, bind)', report.connections.latency],
    ['message delivery (send → recipient)', m.latency],
    ['MAM query (last 10)', report.mam.latency],
  ] as const;
  const errors = Object.entries(report.errors);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>xmpp-migrate load test: ${escape(report.target)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.chart{margin:12px 0}</style></head>
<body>
<h1>Load test: ${escape(report.target)}</h1>
<p>Started ${escape(report.startedAt)}; stopped by <b>${escape(report.stoppedBy)}</b> after ${(report.elapsedMs / 1000).toFixed(1)} s (sending ${(report.sendingMs / 1000).toFixed(1)} s).</p>
<h2>Scenario</h2>
<table>${row(['setting', 'value'], true)}${row(['clients', s.clients])}${row(['ramp-up', `${s.rampUpSeconds} s`])}${row(['message rate bound', `${s.messagesPerSecond}/s`])}${row(['MAM query rate', `${s.mamQueriesPerSecond}/s`])}${row(['duration bound', `${s.durationSeconds} s`])}${row(['message count bound', s.maxMessages])}${s.basis.map((b) => row(['basis', b])).join('')}</table>
<h2>Results</h2>
<table>${row(['', 'count', 'ok', 'failed'], true)}${row(['connections', report.connections.attempted, report.connections.ok, report.connections.failed])}${row(['messages', m.sent, m.received, m.lost])}${row(['MAM queries', report.mam.queries, report.mam.ok, report.mam.failed])}</table>
<p>Achieved send rate: <b>${m.achievedPerSecond}/s</b> (bound ${s.messagesPerSecond}/s).</p>
<table>${row(['latency (ms)', 'n', 'p50', 'p90', 'p95', 'p99', 'max'], true)}${latencyRows.map(([name, l]) => row([name, l.count, l.p50, l.p90, l.p95, l.p99, l.max])).join('')}</table>
<div class="chart" id="latency">${svgChart('Message delivery latency over time', 'ms per second of the run', seconds, [{ label: 'p50', color: '#1f77b4', values: t.map((x) => x.p50) }, { label: 'p95', color: '#d62728', values: t.map((x) => x.p95) }])}</div>
<div class="chart" id="throughput">${svgChart('Throughput', 'messages per second', seconds, [{ label: 'sent', color: '#2ca02c', values: t.map((x) => x.sent) }, { label: 'received', color: '#ff7f0e', values: t.map((x) => x.received) }, { label: 'MAM queries', color: '#9467bd', values: t.map((x) => x.mamQueries) }], 'bar')}</div>
<div class="chart" id="errors">${svgChart('Errors', 'errors per second', seconds, [{ label: 'errors', color: '#d62728', values: t.map((x) => x.errors) }], 'bar')}</div>
<h2>Errors</h2>
${errors.length === 0 ? '<p>none</p>' : `<table>${row(['error', 'count'], true)}${errors.map(([k, v]) => row([k, v])).join('')}</table>`}
</body></html>
`;
}
