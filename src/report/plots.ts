// The five plots of a run, each a pure function from numbers to an SVG string: training curves,
// ROC (linear and log FAR), EER (FAR/FRR against threshold), same/different distance histograms
// and a t-SNE map of test embeddings. Inputs are plain arrays so they can come from JSON files.
import { categoryColor, renderPanel, svgDocument, type LineSeries, type PointSeries } from './svg';
import { tsne, type TsneOptions } from './tsne';
import { distanceHistogram } from '../eval/histogram';

const BLUE = '#4e79a7';
const ORANGE = '#f28e2b';
const RED = '#e15759';
const GREEN = '#59a14f';
const PURPLE = '#b07aa1';

/** Formats a metric for titles and labels: 4 significant decimals, no trailing zeros beyond 3. */
export function formatMetric(v: number | undefined | null, digits = 3): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return 'n/a';
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(2);
  return v.toFixed(digits);
}

// Loops, not Math.min(...xs): spreading a 100k-pair distance list overflows the call stack.
function minOf(xs: number[]): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

function maxOf(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

function requireSameLength(plot: string, a: { name: string; values: ArrayLike<unknown> }, b: { name: string; values: ArrayLike<unknown> }): void {
  if (a.values.length !== b.values.length) {
    throw new Error(`${plot}: ${a.name} has ${a.values.length} values but ${b.name} has ${b.values.length}; they must be the same length`);
  }
}

// ---------------------------------------------------------------- training curves

export interface TrainingLogEntry {
  epoch: number;
  loss: number;
  lr: number;
  /** Test accuracy, only on evaluation epochs. */
  accuracy?: number;
  auc?: number;
  /** Fraction of mined triplets with a positive loss (batch-all), if the trainer logs it. */
  activeFraction?: number;
}

/** Loss, learning rate, accuracy/AUC and (if logged) active-triplet fraction against epoch, as a 2x2 grid. */
export function trainingCurvesSvg(log: TrainingLogEntry[], opts: { title?: string } = {}): string {
  if (log.length === 0) throw new Error('trainingCurvesSvg: the metrics log is empty; train at least one epoch first');
  const rows = [...log].sort((a, b) => a.epoch - b.epoch);
  const epochs = rows.map((r) => r.epoch);
  const pw = 440;
  const ph = 280;
  const top = 34;
  const xAxis = { title: 'epoch', integer: true };
  const lrs = rows.map((r) => r.lr).filter((v) => v > 0);
  const lrSpread = lrs.length > 0 ? maxOf(lrs) / minOf(lrs) : 1;
  const evalRows = rows.filter((r) => r.accuracy !== undefined || r.auc !== undefined);
  const activeRows = rows.filter((r) => r.activeFraction !== undefined);

  const panels = [
    renderPanel({
      x: 0, y: top, width: pw, height: ph, title: 'Training loss',
      xAxis, yAxis: { title: 'loss' },
      lines: [{ xs: epochs, ys: rows.map((r) => r.loss), color: BLUE, label: 'loss', markers: rows.length <= 30 }],
      legend: 'none',
    }),
    renderPanel({
      x: pw, y: top, width: pw, height: ph, title: 'Learning rate',
      xAxis,
      // A schedule spanning more than a decade (cosine to ~0, step decay) reads better on a log axis.
      yAxis: { title: 'learning rate', scale: lrSpread > 10 ? 'log' : 'linear' },
      lines: [{ xs: epochs, ys: rows.map((r) => r.lr), color: PURPLE, label: 'lr' }],
      legend: 'none',
    }),
    renderPanel({
      x: 0, y: top + ph, width: pw, height: ph, title: 'Test accuracy and AUC',
      xAxis: { ...xAxis, domain: [epochs[0] as number, epochs[epochs.length - 1] as number] },
      yAxis: { title: 'score', domain: [0, 1] },
      lines: [
        { xs: evalRows.map((r) => r.epoch), ys: evalRows.map((r) => r.accuracy ?? NaN), color: GREEN, label: 'accuracy', markers: true },
        { xs: evalRows.map((r) => r.epoch), ys: evalRows.map((r) => r.auc ?? NaN), color: ORANGE, label: 'AUC', markers: true },
      ],
      legend: 'bottom-right',
      emptyMessage: 'no evaluation in this log',
    }),
    renderPanel({
      x: pw, y: top + ph, width: pw, height: ph, title: 'Active triplets (loss > 0)',
      xAxis: { ...xAxis, domain: [epochs[0] as number, epochs[epochs.length - 1] as number] },
      yAxis: { title: 'fraction', domain: [0, 1] },
      lines: [{ xs: activeRows.map((r) => r.epoch), ys: activeRows.map((r) => r.activeFraction ?? NaN), color: RED, label: 'active fraction', markers: activeRows.length <= 30 }],
      legend: 'none',
      emptyMessage: 'active fraction not logged',
    }),
  ];
  return svgDocument({ width: pw * 2, height: top + ph * 2, title: opts.title ?? 'Training curves', plotName: 'training', body: panels.join('\n') });
}

// ---------------------------------------------------------------- ROC

export interface RocData {
  far: number[];
  tar: number[];
  /** Area under the curve; computed by the trapezoid rule when absent. */
  auc?: number;
}

/** Trapezoid area under (far, tar), points taken in increasing FAR. */
export function trapezoidAuc(far: ArrayLike<number>, tar: ArrayLike<number>): number {
  const idx = Array.from({ length: far.length }, (_, i) => i).sort((a, b) => (far[a] as number) - (far[b] as number) || (tar[a] as number) - (tar[b] as number));
  let area = 0;
  for (let k = 1; k < idx.length; k++) {
    const i = idx[k - 1] as number;
    const j = idx[k] as number;
    area += ((far[j] as number) - (far[i] as number)) * ((tar[j] as number) + (tar[i] as number)) / 2;
  }
  return area;
}

/** Two panels: ROC on a linear FAR axis and on a log FAR axis (where the TAR@FAR=1e-2/1e-3 operating points live). */
export function rocSvg(roc: RocData, opts: { title?: string } = {}): string {
  requireSameLength('rocSvg', { name: 'far', values: roc.far }, { name: 'tar', values: roc.tar });
  if (roc.far.length < 2) throw new Error('rocSvg: a ROC curve needs at least 2 points (far/tar pairs)');
  const auc = roc.auc ?? trapezoidAuc(roc.far, roc.tar);
  const order = roc.far.map((_, i) => i).sort((a, b) => (roc.far[a] as number) - (roc.far[b] as number) || (roc.tar[a] as number) - (roc.tar[b] as number));
  const far = order.map((i) => roc.far[i] as number);
  const tar = order.map((i) => roc.tar[i] as number);
  const positive = far.filter((v) => v > 0);
  const minFar = positive.length > 0 ? Math.max(minOf(positive), 1e-6) : 1e-4;
  const pw = 440;
  const ph = 400;
  const top = 34;
  const chance: LineSeries = { xs: [0, 1], ys: [0, 1], color: '#999999', dash: '4,4', width: 1, label: 'chance' };
  const curve: LineSeries = { xs: far, ys: tar, color: BLUE, label: 'ROC', width: 2 };
  const body = [
    renderPanel({
      x: 0, y: top, width: pw, height: ph, title: 'ROC (linear FAR)',
      xAxis: { title: 'false accept rate (FAR)', domain: [0, 1] },
      yAxis: { title: 'true accept rate (TAR)', domain: [0, 1] },
      lines: [chance, curve],
      legend: 'bottom-right',
    }),
    renderPanel({
      x: pw, y: top, width: pw, height: ph, title: 'ROC (log FAR)',
      xAxis: { title: 'false accept rate (FAR, log scale)', scale: 'log', domain: [minFar, 1] },
      yAxis: { title: 'true accept rate (TAR)', domain: [0, 1] },
      lines: [{ ...curve, xs: far.filter((v) => v >= minFar), ys: tar.filter((_, i) => (far[i] as number) >= minFar) }],
      legend: 'none',
    }),
  ].join('\n');
  return svgDocument({ width: pw * 2, height: top + ph, title: opts.title ?? `ROC curve (AUC = ${formatMetric(auc, 4)})`, plotName: 'roc', body });
}

// ---------------------------------------------------------------- EER

export interface EerData {
  thresholds: number[];
  far: number[];
  frr: number[];
  eer: number;
  eerThreshold: number;
}

/** FAR and FRR against the distance threshold, with the equal-error point ringed and labelled. */
export function eerSvg(data: EerData, opts: { title?: string } = {}): string {
  requireSameLength('eerSvg', { name: 'thresholds', values: data.thresholds }, { name: 'far', values: data.far });
  requireSameLength('eerSvg', { name: 'thresholds', values: data.thresholds }, { name: 'frr', values: data.frr });
  if (data.thresholds.length < 2) throw new Error('eerSvg: needs at least 2 thresholds');
  const order = data.thresholds.map((_, i) => i).sort((a, b) => (data.thresholds[a] as number) - (data.thresholds[b] as number));
  const th = order.map((i) => data.thresholds[i] as number);
  const text = `EER = ${formatMetric(data.eer)} at threshold ${formatMetric(data.eerThreshold)}`;
  const body = renderPanel({
    x: 0, y: 34, width: 720, height: 420, title: text,
    xAxis: { title: 'distance threshold' },
    yAxis: { title: 'error rate', domain: [0, 1] },
    lines: [
      { xs: th, ys: order.map((i) => data.far[i] as number), color: RED, label: 'FAR (different accepted)' },
      { xs: th, ys: order.map((i) => data.frr[i] as number), color: BLUE, label: 'FRR (same rejected)' },
    ],
    rules: [{ orientation: 'vertical', value: data.eerThreshold, color: '#555555', dash: '3,3' }],
    annotations: [{ x: data.eerThreshold, y: data.eer, text: `EER ${formatMetric(data.eer)}`, ring: true }],
    legend: 'top-left',
  });
  return svgDocument({ width: 720, height: 454, title: opts.title ?? 'Equal error rate', plotName: 'eer', body });
}

// ---------------------------------------------------------------- distance histogram

export interface DistanceData {
  distances: number[];
  /** true = the pair shows the same person. */
  same: boolean[];
  threshold: number;
}

export interface HistogramBins {
  edges: number[];
  same: number[];
  different: number[];
}

/**
 * The binning of eval's distanceHistogram over the finite distances and the threshold, counts normalised per class so
 * 225 same vs 1,000 different pairs compare.
 */
export function distanceFractions(data: DistanceData, binCount = 40): HistogramBins {
  requireSameLength('distanceFractions', { name: 'distances', values: data.distances }, { name: 'same', values: data.same });
  const kept = data.distances.flatMap((d, i) => (Number.isFinite(d) ? [i] : []));
  if (kept.length === 0) throw new Error('distanceFractions: no finite distances to plot');
  const distances = kept.map((i) => data.distances[i] as number);
  const same = kept.map((i) => data.same[i] as boolean);
  const range: [number, number] = [Math.min(minOf(distances), data.threshold), Math.max(maxOf(distances), data.threshold)];
  const h = distanceHistogram(distances, same, binCount, range);
  const fractions = (counts: number[]) => {
    const total = counts.reduce((a, b) => a + b, 0);
    return counts.map((c) => (total > 0 ? c / total : 0));
  };
  return { edges: h.edges, same: fractions(h.same), different: fractions(h.different) };
}

export function distanceHistogramSvg(data: DistanceData, opts: { title?: string; bins?: number } = {}): string {
  const h = distanceFractions(data, opts.bins ?? 40);
  const nSame = data.same.filter(Boolean).length;
  const nDiff = data.same.length - nSame;
  const x0 = h.edges.slice(0, -1);
  const x1 = h.edges.slice(1);
  const body = renderPanel({
    x: 0, y: 34, width: 720, height: 400, title: `${nSame} same-person pairs, ${nDiff} different-person pairs`,
    xAxis: { title: 'embedding distance', domain: [h.edges[0] as number, h.edges[h.edges.length - 1] as number], nice: false },
    yAxis: { title: 'fraction of pairs in class' },
    bars: [
      { x0, x1, heights: h.same, color: BLUE, label: 'same person', opacity: 0.55 },
      { x0, x1, heights: h.different, color: ORANGE, label: 'different people', opacity: 0.55 },
    ],
    rules: [{ orientation: 'vertical', value: data.threshold, color: RED, label: `threshold ${formatMetric(data.threshold)}` }],
    legend: 'top-right',
  });
  return svgDocument({ width: 720, height: 434, title: opts.title ?? 'Pair distances', plotName: 'distances', body });
}

// ---------------------------------------------------------------- t-SNE

export interface TsneInput {
  /** N*dim values, row-major (a Float32Array from the embedder, or number[] from JSON). */
  embeddings: ArrayLike<number>;
  dim: number;
  /** Identity of each row. */
  labels: string[];
}

export interface TsnePlotOptions extends TsneOptions {
  title?: string;
  /** Above this many points, an evenly spaced subset is embedded (t-SNE is O(N^2)). */
  maxPoints?: number;
}

/** Runs t-SNE on the embeddings and plots the 2-D map, one colour per identity. */
export function tsneSvg(input: TsneInput, opts: TsnePlotOptions = {}): string {
  const n = input.embeddings.length / input.dim;
  if (!Number.isInteger(n)) throw new Error(`tsneSvg: ${input.embeddings.length} embedding values are not a multiple of dim ${input.dim}`);
  if (input.labels.length !== n) throw new Error(`tsneSvg: ${n} embeddings but ${input.labels.length} labels; give one identity per embedding`);
  const maxPoints = opts.maxPoints ?? 500;
  // Evenly spaced rows (not a random subset) keep the choice reproducible without drawing from an Rng.
  const rows = n <= maxPoints ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: maxPoints }, (_, k) => Math.floor((k * n) / maxPoints));
  const sub = new Float64Array(rows.length * input.dim);
  rows.forEach((r, k) => {
    for (let j = 0; j < input.dim; j++) sub[k * input.dim + j] = input.embeddings[r * input.dim + j] as number;
  });
  const coords = tsne(sub, input.dim, opts);
  const labels = rows.map((r) => input.labels[r] as string);
  return tsneScatterSvg(coords, labels, { title: opts.title, subsampledFrom: rows.length < n ? n : undefined });
}

/** Scatter of precomputed 2-D coordinates (x0, y0, x1, y1, ...), coloured by label. */
export function tsneScatterSvg(coords: ArrayLike<number>, labels: string[], opts: { title?: string; subsampledFrom?: number } = {}): string {
  if (coords.length !== labels.length * 2) {
    throw new Error(`tsneScatterSvg: ${coords.length / 2} points but ${labels.length} labels`);
  }
  const identities = [...new Set(labels)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const series: PointSeries[] = identities.map((id, c) => {
    const idx = labels.flatMap((l, i) => (l === id ? [i] : []));
    return {
      xs: idx.map((i) => coords[i * 2] as number),
      ys: idx.map((i) => coords[i * 2 + 1] as number),
      color: categoryColor(c),
      // A legend of more than 20 identities would hide the map; tooltips still name every point.
      label: identities.length <= 20 ? id : undefined,
      titles: idx.map(() => id),
      radius: 4,
    };
  });
  const sub = opts.subsampledFrom ? ` (${labels.length} of ${opts.subsampledFrom} shown)` : '';
  const body = renderPanel({
    x: 0, y: 34, width: 800, height: 560,
    title: `${labels.length} test embeddings, ${identities.length} identities${sub}`,
    xAxis: { title: 't-SNE 1' },
    yAxis: { title: 't-SNE 2' },
    points: series,
    hideTickLabels: true,
    legend: 'outside-right',
  });
  return svgDocument({ width: 800, height: 594, title: opts.title ?? 't-SNE of test embeddings', plotName: 'tsne', body });
}
