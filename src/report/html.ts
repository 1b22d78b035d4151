// The run report: one self-contained HTML file (inline CSS, plots inlined as SVG, no external URLs)
// that can be opened from runs/<id>/report.html on any machine, or attached to a ticket.
import * as path from 'node:path';
import YAML from 'yaml';
import { escapeHtml } from './escape';
import { distanceHistogramSvg, eerSvg, rocSvg, trainingCurvesSvg, tsneSvg } from './plots';
import type { MetricColumn, MetricSet, MetricValue, RunReportData, TimingData } from './types';
import { writePlot, type PlotFiles } from './write';
import { writeFileAtomic } from '../util/durable-fs';
import { formatDuration } from '../util/duration';

export interface RenderedPlot {
  /** File name stem: training, roc, eer, distances, tsne. */
  name: string;
  heading: string;
  /** The SVG, or undefined when drawing failed (error says why). */
  svg?: string;
  error?: string;
}

// ---------------------------------------------------------------- number formatting

/** Rates and scores: up to 4 decimals, trailing zeros dropped (0.984, 0.8835). */
export function formatNumber(v: number, decimals = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 10 ** -decimals) return v.toExponential(2);
  return String(Number(v.toFixed(decimals)));
}

export function formatMetricValue(v: MetricValue | undefined, decimals = 4): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return formatNumber(v, decimals);
  return `${formatNumber(v.mean, decimals)} ± ${formatNumber(v.std, decimals)}`;
}

function formatFar(far: number): string {
  const e = Math.log10(far);
  return Number.isInteger(Math.round(e * 1e9) / 1e9) ? `1e${Math.round(e)}` : String(far);
}

// ---------------------------------------------------------------- sections

interface MetricRow {
  label: string;
  get(m: MetricSet): MetricValue | undefined;
  decimals?: number;
}

function metricRows(sets: MetricSet[]): MetricRow[] {
  const rows: MetricRow[] = [
    { label: 'Accuracy', get: (m) => m.accuracy },
    { label: 'Precision', get: (m) => m.precision },
    { label: 'Recall (TAR)', get: (m) => m.recall },
    { label: 'F1', get: (m) => m.f1 },
    { label: 'ROC AUC', get: (m) => m.auc },
    { label: 'EER', get: (m) => m.eer },
    { label: 'Distance threshold', get: (m) => m.threshold },
  ];
  const fars = [...new Set(sets.flatMap((m) => (m.tarAtFar ?? []).map((t) => t.far)))].sort((a, b) => b - a);
  for (const far of fars) {
    rows.push({ label: `TAR @ FAR = ${formatFar(far)}`, get: (m) => m.tarAtFar?.find((t) => t.far === far)?.tar });
  }
  rows.push({ label: 'Seconds per epoch', get: (m) => m.secondsPerEpoch, decimals: 2 });
  rows.push({ label: 'Training images / s', get: (m) => m.imagesPerSecond, decimals: 1 });
  return rows.filter((r) => sets.some((m) => r.get(m) !== undefined));
}

export function renderMetricsTable(columns: MetricColumn[]): string {
  if (columns.length === 0) return '<p class="empty">No metrics recorded.</p>';
  const rows = metricRows(columns.map((c) => c.metrics));
  const head = `<tr><th>Metric</th>${columns.map((c) => `<th>${escapeHtml(c.label)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => {
      const cells = columns.map((c) => `<td>${escapeHtml(formatMetricValue(r.get(c.metrics), r.decimals))}</td>`).join('');
      return `<tr><th scope="row">${escapeHtml(r.label)}</th>${cells}</tr>`;
    })
    .join('\n');
  const notes = columns
    .filter((c) => c.note)
    .map((c) => `<li><b>${escapeHtml(c.label)}</b>: ${escapeHtml(c.note)}</li>`)
    .join('\n');
  return `<table class="metrics">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>\n${notes ? `<ul class="column-notes">\n${notes}\n</ul>` : ''}`;
}

export function renderTimings(t: TimingData): string {
  const epochs = t.epochs ?? [];
  const rate = (e: { seconds: number; images?: number; imagesPerSecond?: number }) =>
    e.imagesPerSecond ?? (e.images !== undefined && e.seconds > 0 ? e.images / e.seconds : undefined);
  const facts: [string, string][] = [];
  if (epochs.length > 0) {
    const secs = epochs.map((e) => e.seconds);
    const mean = secs.reduce((a, b) => a + b, 0) / secs.length;
    facts.push(['Epochs timed', String(epochs.length)]);
    facts.push(['Time per epoch (mean)', formatDuration(mean)]);
    facts.push(['Time per epoch (min / max)', `${formatDuration(Math.min(...secs))} / ${formatDuration(Math.max(...secs))}`]);
    const rates = epochs.map(rate).filter((r): r is number => r !== undefined);
    if (rates.length > 0) facts.push(['Training images / s (mean)', formatNumber(rates.reduce((a, b) => a + b, 0) / rates.length, 1)]);
    facts.push(['Training time (sum of epochs)', formatDuration(secs.reduce((a, b) => a + b, 0))]);
  }
  if (t.evaluationSeconds !== undefined) facts.push(['Embedding time (last evaluation)', formatDuration(t.evaluationSeconds)]);
  if (t.embeddingImagesPerSecond !== undefined) facts.push(['Embedding images / s', formatNumber(t.embeddingImagesPerSecond, 1)]);
  if (t.totalSeconds !== undefined) facts.push(['Total wall time (first to last file of the run, pauses included)', formatDuration(t.totalSeconds)]);
  const summary = `<table class="facts timings">\n${facts.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}\n</table>`;
  if (epochs.length === 0) return summary;
  const perEpoch = epochs
    .map((e) => {
      const r = rate(e);
      return `<tr><td>${escapeHtml(e.epoch)}</td><td>${escapeHtml(formatDuration(e.seconds))}</td><td>${r === undefined ? '' : escapeHtml(formatNumber(r, 1))}</td></tr>`;
    })
    .join('\n');
  return `${summary}\n<details><summary>Per-epoch timings</summary>\n<table class="per-epoch">\n<thead><tr><th>Epoch</th><th>Time</th><th>Images / s</th></tr></thead>\n<tbody>\n${perEpoch}\n</tbody>\n</table>\n</details>`;
}

/** Draws every plot the data allows; a plot whose data is malformed becomes an error entry, not a lost report. */
export function renderPlots(data: RunReportData): RenderedPlot[] {
  const jobs: { name: string; heading: string; draw: () => string }[] = [];
  if (data.trainingLog && data.trainingLog.length > 0) jobs.push({ name: 'training', heading: 'Training curves', draw: () => trainingCurvesSvg(data.trainingLog ?? []) });
  const roc = data.roc;
  if (roc) jobs.push({ name: 'roc', heading: 'ROC curve', draw: () => rocSvg(roc) });
  const eer = data.eer;
  if (eer) jobs.push({ name: 'eer', heading: 'Equal error rate', draw: () => eerSvg(eer) });
  const distances = data.distances;
  if (distances) jobs.push({ name: 'distances', heading: 'Pair distances', draw: () => distanceHistogramSvg(distances) });
  const t = data.tsne;
  if (t) {
    jobs.push({
      name: 'tsne',
      heading: 't-SNE of test embeddings',
      draw: () => tsneSvg({ embeddings: t.embeddings, dim: t.dim, labels: t.labels }, { seed: t.seed, perplexity: t.perplexity, maxPoints: t.maxPoints }),
    });
  }
  return jobs.map((j) => {
    try {
      return { name: j.name, heading: j.heading, svg: j.draw() };
    } catch (err) {
      return { name: j.name, heading: j.heading, error: (err as Error).message };
    }
  });
}

const CSS = `
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #111; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
table.metrics td { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f3f3f3; }
pre.config { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
.error { color: #b00020; }
.meta { color: #555; }
ul.column-notes { font-size: 0.9em; color: #444; }
`;

/** The report as an HTML string (pure: no files read or written). */
export function renderRunReport(data: RunReportData, plots: RenderedPlot[] = renderPlots(data)): string {
  const title = data.title ?? `Run ${data.runId}`;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push(`<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n<style>${CSS}</style>\n</head>`);
  out.push('<body>');
  out.push(`<h1 id="title">${escapeHtml(title)}</h1>`);
  const meta = [`run <code>${escapeHtml(data.runId)}</code>`];
  if (data.generatedAt) meta.push(`generated ${escapeHtml(data.generatedAt)}`);
  out.push(`<p class="meta">${meta.join(' · ')}</p>`);
  if (data.description) out.push(`<p class="description">${escapeHtml(data.description)}</p>`);

  if (data.summary && Object.keys(data.summary).length > 0) {
    const rows = Object.entries(data.summary).map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`);
    out.push(`<section id="summary">\n<h2>Summary</h2>\n<table class="facts">\n${rows.join('\n')}\n</table>\n</section>`);
  }

  const columns: MetricColumn[] = [];
  if (data.metrics) columns.push({ label: data.metricsLabel ?? 'This run', metrics: data.metrics });
  columns.push(...(data.comparisons ?? []));
  out.push(`<section id="metrics">\n<h2>Test metrics</h2>\n${renderMetricsTable(columns)}\n</section>`);

  if (data.notes && data.notes.length > 0) {
    out.push(`<section id="notes">\n<h2>Notes</h2>\n${data.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}\n</section>`);
  }

  if (plots.length > 0) {
    out.push('<section id="plots">\n<h2>Plots</h2>');
    for (const p of plots) {
      // The SVG carries its own title; the heading is shown only when the plot is missing.
      const content = p.svg ?? `<h3>${escapeHtml(p.heading)}</h3>\n<p class="error">This plot could not be drawn: ${escapeHtml(p.error ?? 'no data')}</p>`;
      out.push(`<figure id="plot-${escapeHtml(p.name)}" aria-label="${escapeHtml(p.heading)}">\n${content}\n</figure>`);
    }
    out.push('</section>');
  }

  if (data.timings) out.push(`<section id="timings">\n<h2>Timings</h2>\n${renderTimings(data.timings)}\n</section>`);

  if (data.config !== undefined) {
    out.push(`<section id="config">\n<h2>Resolved configuration</h2>\n<pre class="config">${escapeHtml(YAML.stringify(data.config))}</pre>\n</section>`);
  }
  out.push('</body>\n</html>\n');
  return out.join('\n');
}

export interface WriteReportFilesOptions {
  /** Also write plots/<name>.svg and .png beside the report (default true). */
  plotFiles?: boolean;
  /** PNG copies of the plots (default true; needs sharp). */
  png?: boolean;
}

export interface WriteReportFilesResult {
  reportPath: string;
  plots: Record<string, PlotFiles>;
  /** Plots that could not be drawn, "name: reason". */
  warnings: string[];
}

/** Writes <runDir>/report.html (and <runDir>/plots/*.svg|png) atomically from the data given; pipeline/report.ts gathers that data from a run directory. */
export async function writeReportFiles(runDir: string, data: RunReportData, opts: WriteReportFilesOptions = {}): Promise<WriteReportFilesResult> {
  const plots = renderPlots(data);
  const files: Record<string, PlotFiles> = {};
  if (opts.plotFiles !== false) {
    for (const p of plots) {
      if (p.svg) files[p.name] = await writePlot(path.join(runDir, 'plots'), p.name, p.svg, { png: opts.png });
    }
  }
  const reportPath = path.join(runDir, 'report.html');
  await writeFileAtomic(reportPath, renderRunReport(data, plots));
  return { reportPath, plots: files, warnings: plots.filter((p) => p.error).map((p) => `${p.name}: ${p.error}`) };
}
