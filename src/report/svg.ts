// A small hand-written SVG chart kit: linear and log scales, axes with "nice" ticks, lines, points,
// bars, rules and legends inside rectangular panels. Written by hand rather than with vega because
// vega 6 is ESM-only (this project is CommonJS), renders asynchronously, and pulls ~60 packages for
// what are five fixed chart types; hand-written marks also carry class names the tests can count.
import { escapeHtml } from './escape';

export const FONT_FAMILY = 'DejaVu Sans, Verdana, Arial, sans-serif';

/** Ten distinguishable colours (Tableau 10); more identities fall back to golden-angle hues. */
export const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
] as const;

export function categoryColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index] as string;
  const hue = (index * 137.508) % 360;
  return `hsl(${hue.toFixed(1)},60%,45%)`;
}

// ---------------------------------------------------------------- scales

export type ScaleKind = 'linear' | 'log';

export interface Scale {
  kind: ScaleKind;
  domain: [number, number];
  range: [number, number];
  map(value: number): number;
  ticks: number[];
  format(value: number): string;
}

/** d3's tick-step rule: a step of 1, 2 or 5 x 10^k giving about `count` ticks over [lo, hi]. */
export function tickStep(lo: number, hi: number, count: number): number {
  const raw = Math.abs(hi - lo) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  let step = 10 ** Math.floor(Math.log10(raw));
  const err = raw / step;
  if (err >= Math.sqrt(50)) step *= 10;
  else if (err >= Math.sqrt(10)) step *= 5;
  else if (err >= Math.sqrt(2)) step *= 2;
  return step;
}

/** Rounds away floating-point dust (0.30000000000000004 -> 0.3) so tick labels stay short. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

function formatWithStep(v: number, step: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs < 1e-3 || abs >= 1e6) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(decimals, 6));
}

export interface LinearScaleOptions {
  /** Extend the domain to whole tick steps. */
  nice?: boolean;
  tickCount?: number;
  /** Ticks only on whole numbers (epochs). */
  integer?: boolean;
}

export function linearScale(domain: [number, number], range: [number, number], opts: LinearScaleOptions = {}): Scale {
  let [lo, hi] = domain;
  if (lo === hi) {
    // A constant series (e.g. a fixed learning rate) still needs a visible band around it.
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const count = opts.tickCount ?? 5;
  let step = tickStep(lo, hi, count);
  if (opts.integer && step < 1) step = 1;
  if (opts.nice) {
    lo = clean(Math.floor(lo / step) * step);
    hi = clean(Math.ceil(hi / step) * step);
  }
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(clean(k * step));
  const [r0, r1] = range;
  const span = hi - lo;
  return {
    kind: 'linear',
    domain: [lo, hi],
    range,
    map: (v) => r0 + ((v - lo) / span) * (r1 - r0),
    ticks,
    format: (v) => formatWithStep(v, step),
  };
}

function formatLog(v: number): string {
  const e = Math.log10(v);
  if (Math.abs(e - Math.round(e)) < 1e-9) {
    const k = Math.round(e);
    if (k >= -3 && k <= 3) return String(clean(10 ** k));
    return `1e${k}`;
  }
  return v >= 0.01 && v < 1000 ? String(clean(v)) : v.toExponential(0).replace('e+', 'e');
}

export function logScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  if (!(d0 > 0) || !(d1 > 0)) {
    throw new Error(`logScale: the domain [${d0}, ${d1}] must be positive; drop zero values before plotting on a log axis`);
  }
  let lo = 10 ** Math.floor(Math.log10(d0) + 1e-9);
  let hi = 10 ** Math.ceil(Math.log10(d1) - 1e-9);
  if (lo === hi) {
    lo /= 10;
    hi *= 10;
  }
  const decades: number[] = [];
  for (let k = Math.round(Math.log10(lo)); k <= Math.round(Math.log10(hi)); k++) decades.push(clean(10 ** k));
  // Fewer than three decades would leave an axis with two labels: add the 2 and 5 multiples.
  const ticks =
    decades.length >= 3
      ? decades
      : decades.flatMap((d) => [d, clean(2 * d), clean(5 * d)]).filter((t) => t >= lo && t <= hi);
  const [r0, r1] = range;
  const l0 = Math.log10(lo);
  const span = Math.log10(hi) - l0;
  return {
    kind: 'log',
    domain: [lo, hi],
    range,
    map: (v) => r0 + ((Math.log10(v) - l0) / span) * (r1 - r0),
    ticks,
    format: formatLog,
  };
}

// ---------------------------------------------------------------- marks

export interface LineSeries {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color: string;
  label?: string;
  dash?: string;
  width?: number;
  /** Also draw a dot at every point (sparse series such as evaluation epochs). */
  markers?: boolean;
}

export interface PointSeries {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color: string;
  label?: string;
  radius?: number;
  opacity?: number;
  /** Per-point tooltip text (identity names). */
  titles?: string[];
}

export interface BarSeries {
  /** Left and right edge of each bar in data units. */
  x0: ArrayLike<number>;
  x1: ArrayLike<number>;
  heights: ArrayLike<number>;
  color: string;
  label?: string;
  opacity?: number;
}

export interface Rule {
  orientation: 'vertical' | 'horizontal';
  value: number;
  color: string;
  label?: string;
  dash?: string;
}

export interface Annotation {
  x: number;
  y: number;
  text: string;
  color?: string;
  /** Draw a ring around the point (the EER point). */
  ring?: boolean;
}

export interface AxisSpec {
  title: string;
  scale?: ScaleKind;
  domain?: [number, number];
  nice?: boolean;
  integer?: boolean;
}

export interface PanelSpec {
  /** Outer box of the panel inside the SVG. */
  x: number;
  y: number;
  width: number;
  height: number;
  title?: string;
  xAxis: AxisSpec;
  yAxis: AxisSpec;
  lines?: LineSeries[];
  points?: PointSeries[];
  bars?: BarSeries[];
  rules?: Rule[];
  annotations?: Annotation[];
  /** outside-right: in a column right of the plot area (many entries, e.g. t-SNE identities). */
  legend?: 'top-right' | 'bottom-right' | 'top-left' | 'outside-right' | 'none';
  /** Shown in the middle of the plot area when the panel has no data marks. */
  emptyMessage?: string;
  /** Hide the axes (t-SNE coordinates have no meaning). */
  hideTickLabels?: boolean;
}

const MARGIN = { left: 64, right: 14, top: 30, bottom: 46 };

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function finitePairs(xs: ArrayLike<number>, ys: ArrayLike<number>, xKind: ScaleKind, yKind: ScaleKind): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if ((xKind === 'log' && x <= 0) || (yKind === 'log' && y <= 0)) continue;
    out.push([x, y]);
  }
  return out;
}

function extent(values: number[], kind: ScaleKind): [number, number] {
  const usable = values.filter((v) => Number.isFinite(v) && (kind === 'linear' || v > 0));
  if (usable.length === 0) return kind === 'log' ? [0.1, 1] : [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of usable) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function makeScale(axis: AxisSpec, data: number[], range: [number, number]): Scale {
  const kind = axis.scale ?? 'linear';
  const domain = axis.domain ?? extent(data, kind);
  if (kind === 'log') return logScale(domain, range);
  return linearScale(domain, range, { nice: axis.nice ?? axis.domain === undefined, integer: axis.integer });
}

function clamp(v: number, a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return v < lo ? lo : v > hi ? hi : v;
}

/** Renders one panel (frame, grid, axes, marks, legend) as an SVG <g>. */
export function renderPanel(spec: PanelSpec): string {
  const xKind = spec.xAxis.scale ?? 'linear';
  const yKind = spec.yAxis.scale ?? 'linear';
  const xData: number[] = [];
  const yData: number[] = [];
  for (const s of [...(spec.lines ?? []), ...(spec.points ?? [])]) {
    for (const [x, y] of finitePairs(s.xs, s.ys, xKind, yKind)) {
      xData.push(x);
      yData.push(y);
    }
  }
  for (const b of spec.bars ?? []) {
    for (let i = 0; i < b.heights.length; i++) {
      xData.push(b.x0[i] as number, b.x1[i] as number);
      yData.push(b.heights[i] as number);
    }
    if (yKind === 'linear') yData.push(0);
  }
  for (const r of spec.rules ?? []) (r.orientation === 'vertical' ? xData : yData).push(r.value);
  for (const a of spec.annotations ?? []) {
    xData.push(a.x);
    yData.push(a.y);
  }

  const hasMarks = [...(spec.lines ?? []), ...(spec.points ?? [])].some((s) => finitePairs(s.xs, s.ys, xKind, yKind).length > 0) || (spec.bars ?? []).some((b) => b.heights.length > 0);
  const legendItems = hasMarks ? [...(spec.lines ?? []), ...(spec.bars ?? []), ...(spec.points ?? [])].filter((s) => s.label) : [];
  const where = spec.legend ?? 'top-right';
  const maxChars = Math.max(0, ...legendItems.map((s) => (s.label ?? '').length));
  const legendW = 30 + maxChars * 6.8;
  const outside = where === 'outside-right' && legendItems.length > 0;
  const left = spec.x + MARGIN.left;
  const right = spec.x + spec.width - MARGIN.right - (outside ? legendW + 10 : 0);
  const top = spec.y + MARGIN.top;
  const bottom = spec.y + spec.height - MARGIN.bottom;
  const xs = makeScale(spec.xAxis, xData, [left, right]);
  const ys = makeScale(spec.yAxis, yData, [bottom, top]);
  const X = (v: number) => clamp(xs.map(v), left, right);
  const Y = (v: number) => clamp(ys.map(v), top, bottom);

  const parts: string[] = [];
  parts.push(`<g class="panel">`);
  parts.push(`<rect class="plot-area" x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}" fill="#ffffff" stroke="#888888" stroke-width="1"/>`);

  // Grid and tick labels.
  for (const t of xs.ticks) {
    const px = fmt(xs.map(t));
    parts.push(`<line class="grid" x1="${px}" y1="${fmt(top)}" x2="${px}" y2="${fmt(bottom)}" stroke="#e6e6e6" stroke-width="1"/>`);
    if (!spec.hideTickLabels) {
      parts.push(`<text class="tick x-tick" x="${px}" y="${fmt(bottom + 15)}" text-anchor="middle" font-size="11" fill="#333333">${escapeHtml(xs.format(t))}</text>`);
    }
  }
  for (const t of ys.ticks) {
    const py = fmt(ys.map(t));
    parts.push(`<line class="grid" x1="${fmt(left)}" y1="${py}" x2="${fmt(right)}" y2="${py}" stroke="#e6e6e6" stroke-width="1"/>`);
    if (!spec.hideTickLabels) {
      parts.push(`<text class="tick y-tick" x="${fmt(left - 6)}" y="${py}" dy="0.35em" text-anchor="end" font-size="11" fill="#333333">${escapeHtml(ys.format(t))}</text>`);
    }
  }
  parts.push(`<text class="axis-title x-title" x="${fmt((left + right) / 2)}" y="${fmt(bottom + 36)}" text-anchor="middle" font-size="12" fill="#111111">${escapeHtml(spec.xAxis.title)}</text>`);
  const yMid = fmt((top + bottom) / 2);
  const yTitleX = fmt(spec.x + 16);
  parts.push(`<text class="axis-title y-title" x="${yTitleX}" y="${yMid}" transform="rotate(-90 ${yTitleX} ${yMid})" text-anchor="middle" font-size="12" fill="#111111">${escapeHtml(spec.yAxis.title)}</text>`);
  if (spec.title) {
    parts.push(`<text class="panel-title" x="${fmt((left + right) / 2)}" y="${fmt(spec.y + 19)}" text-anchor="middle" font-size="13" font-weight="bold" fill="#111111">${escapeHtml(spec.title)}</text>`);
  }

  if (!hasMarks && spec.emptyMessage) {
    parts.push(`<text class="empty-message" x="${fmt((left + right) / 2)}" y="${fmt((top + bottom) / 2)}" text-anchor="middle" font-size="13" fill="#777777">${escapeHtml(spec.emptyMessage)}</text>`);
  }

  for (const b of spec.bars ?? []) {
    const base = yKind === 'log' ? ys.domain[0] : 0;
    parts.push(`<g class="bars" data-series="${escapeHtml(b.label ?? '')}" fill="${b.color}" fill-opacity="${b.opacity ?? 0.55}">`);
    for (let i = 0; i < b.heights.length; i++) {
      const h = b.heights[i] as number;
      if (!(h > 0)) continue;
      const x0 = X(b.x0[i] as number);
      const x1 = X(b.x1[i] as number);
      const y1 = Y(h);
      const y0 = Y(base);
      parts.push(`<rect class="bar" x="${fmt(x0)}" y="${fmt(y1)}" width="${fmt(Math.max(0.5, x1 - x0))}" height="${fmt(Math.max(0, y0 - y1))}"/>`);
    }
    parts.push(`</g>`);
  }

  for (const s of spec.lines ?? []) {
    const pts = finitePairs(s.xs, s.ys, xKind, yKind);
    if (pts.length === 0) continue;
    const d = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${fmt(X(x))},${fmt(Y(y))}`).join('');
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    parts.push(`<path class="line" data-series="${escapeHtml(s.label ?? '')}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}" stroke-linejoin="round"${dash}/>`);
    if (s.markers || pts.length === 1) {
      for (const [x, y] of pts) {
        parts.push(`<circle class="marker" cx="${fmt(X(x))}" cy="${fmt(Y(y))}" r="3" fill="${s.color}"/>`);
      }
    }
  }

  for (const s of spec.points ?? []) {
    const r = s.radius ?? 3.5;
    parts.push(`<g class="points" data-series="${escapeHtml(s.label ?? '')}" fill="${s.color}" fill-opacity="${s.opacity ?? 0.85}">`);
    for (let i = 0; i < Math.min(s.xs.length, s.ys.length); i++) {
      const x = s.xs[i] as number;
      const y = s.ys[i] as number;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const tip = s.titles?.[i];
      const circle = `<circle class="point" cx="${fmt(X(x))}" cy="${fmt(Y(y))}" r="${r}"`;
      parts.push(tip === undefined ? `${circle}/>` : `${circle}><title>${escapeHtml(tip)}</title></circle>`);
    }
    parts.push(`</g>`);
  }

  for (const r of spec.rules ?? []) {
    const dash = ` stroke-dasharray="${r.dash ?? '6,4'}"`;
    if (r.orientation === 'vertical') {
      const px = fmt(X(r.value));
      parts.push(`<line class="rule" data-value="${r.value}" x1="${px}" y1="${fmt(top)}" x2="${px}" y2="${fmt(bottom)}" stroke="${r.color}" stroke-width="2"${dash}/>`);
      if (r.label) {
        const anchorRight = X(r.value) > (left + right) / 2;
        parts.push(`<text class="rule-label" x="${fmt(X(r.value) + (anchorRight ? -5 : 5))}" y="${fmt(top + 14)}" text-anchor="${anchorRight ? 'end' : 'start'}" font-size="11" fill="${r.color}">${escapeHtml(r.label)}</text>`);
      }
    } else {
      const py = fmt(Y(r.value));
      parts.push(`<line class="rule" data-value="${r.value}" x1="${fmt(left)}" y1="${py}" x2="${fmt(right)}" y2="${py}" stroke="${r.color}" stroke-width="1.5"${dash}/>`);
      if (r.label) {
        parts.push(`<text class="rule-label" x="${fmt(left + 5)}" y="${fmt(Y(r.value) - 5)}" font-size="11" fill="${r.color}">${escapeHtml(r.label)}</text>`);
      }
    }
  }

  for (const a of spec.annotations ?? []) {
    const px = X(a.x);
    const py = Y(a.y);
    const color = a.color ?? '#000000';
    if (a.ring) parts.push(`<circle class="annotation-ring" cx="${fmt(px)}" cy="${fmt(py)}" r="6" fill="none" stroke="${color}" stroke-width="2"/>`);
    const anchorRight = px > (left + right) / 2;
    parts.push(`<text class="annotation" x="${fmt(px + (anchorRight ? -10 : 10))}" y="${fmt(py - 10)}" text-anchor="${anchorRight ? 'end' : 'start'}" font-size="12" font-weight="bold" fill="${color}">${escapeHtml(a.text)}</text>`);
  }

  if (legendItems.length > 0 && where !== 'none') {
    const rowH = 16;
    const boxW = outside ? legendW : Math.min(right - left - 10, legendW);
    const boxH = legendItems.length * rowH + 8;
    const bx = outside ? right + 10 : where === 'top-left' ? left + 8 : right - boxW - 8;
    const by = where === 'bottom-right' ? bottom - boxH - 8 : outside ? top : top + 8;
    parts.push(`<g class="legend">`);
    parts.push(`<rect x="${fmt(bx)}" y="${fmt(by)}" width="${fmt(boxW)}" height="${fmt(boxH)}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
    legendItems.forEach((s, i) => {
      const cy = by + 4 + rowH * i + rowH / 2;
      parts.push(`<rect x="${fmt(bx + 6)}" y="${fmt(cy - 5)}" width="14" height="10" fill="${s.color}"/>`);
      parts.push(`<text class="legend-label" x="${fmt(bx + 25)}" y="${fmt(cy)}" dy="0.35em" font-size="11" fill="#111111">${escapeHtml(s.label ?? '')}</text>`);
    });
    parts.push(`</g>`);
  }
  parts.push(`</g>`);
  return parts.join('\n');
}

/** Wraps panels into a standalone SVG document with a title line on top. */
export function svgDocument(opts: { width: number; height: number; title?: string; plotName: string; body: string }): string {
  const { width, height } = opts;
  const title = opts.title
    ? `<text class="title" x="${fmt(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold" fill="#111111">${escapeHtml(opts.title)}</text>\n`
    : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-plot="${escapeHtml(opts.plotName)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">\n` +
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>\n` +
    title +
    opts.body +
    `\n</svg>\n`
  );
}
