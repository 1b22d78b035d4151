// The run report: escaping, the metrics table against the references, the files written, PNG text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  formatMetricValue,
  referenceColumns,
  renderMetricsTable,
  renderRunReport,
  renderTimings,
  svgToPng,
  writeReportFiles,
  type RunReportData,
} from '../../src/report';

function smallReport(): RunReportData {
  return {
    runId: 'att-demo-001',
    title: 'AT&T <demo>',
    generatedAt: '2026-11-28T18:00:00Z',
    summary: { dataset: 'att', backend: 'cpu', epochs: 3 },
    config: { name: 'demo', dataset: { name: 'att' }, training: { epochs: 3, note: '</pre><script>alert(1)</script>' } },
    metrics: { accuracy: 0.9512, auc: 0.97, eer: 0.08, threshold: 0.93, tarAtFar: [{ far: 0.01, tar: 0.6 }], secondsPerEpoch: 2.5 },
    comparisons: referenceColumns('att'),
    trainingLog: [
      { epoch: 1, loss: 0.9, lr: 2e-4, activeFraction: 0.8 },
      { epoch: 2, loss: 0.6, lr: 2e-4, accuracy: 0.9, auc: 0.93, activeFraction: 0.5 },
      { epoch: 3, loss: 0.4, lr: 2e-4, accuracy: 0.95, auc: 0.97, activeFraction: 0.3 },
    ],
    roc: { far: [0, 0.01, 0.1, 1], tar: [0, 0.6, 0.9, 1], auc: 0.97 },
    eer: { thresholds: [0.5, 0.93, 1.5], far: [0, 0.08, 1], frr: [0.9, 0.08, 0], eer: 0.08, eerThreshold: 0.93 },
    distances: { distances: [0.3, 0.5, 1.2, 1.4, 0.95], same: [true, true, false, false, false], threshold: 0.93 },
    tsne: { embeddings: [0, 0, 0.1, 0, 5, 5, 5.1, 5, 0, 0.1, 5, 5.1], dim: 2, labels: ['s1', 's1', 's2', 's2', 's1', 's2'] },
    timings: {
      epochs: [
        { epoch: 1, seconds: 3, images: 300 },
        { epoch: 2, seconds: 2, images: 300 },
        { epoch: 3, seconds: 2.5, imagesPerSecond: 120 },
      ],
      totalSeconds: 125,
    },
    notes: ['Tiny <b>smoke</b> run & nothing more.'],
  };
}

void test('metric values: plain numbers, mean +- sd, blanks for missing', () => {
  assert.equal(formatMetricValue(0.984), '0.984');
  assert.equal(formatMetricValue(0.88354), '0.8835');
  assert.equal(formatMetricValue({ mean: 0.943, std: 0.023 }), '0.943 ± 0.023');
  assert.equal(formatMetricValue(undefined), '');
});

void test('metrics table: this run beside the published reference and the PyTorch yardstick', () => {
  const html = renderMetricsTable([{ label: 'This run', metrics: { accuracy: 0.95, tarAtFar: [{ far: 0.001, tar: 0.3 }] } }, ...referenceColumns('att')]);
  assert.match(html, /<th>This run<\/th><th>Reference \(published\)<\/th><th>PyTorch on these machines<\/th>/);
  assert.match(html, /<th scope="row">Accuracy<\/th><td>0\.95<\/td><td>0\.984<\/td><td>0\.943 ± 0\.023<\/td><\/tr>/);
  assert.match(html, /<th scope="row">Precision<\/th><td><\/td><td>0\.936<\/td><td><\/td><\/tr>/);
  assert.match(html, /<th scope="row">Distance threshold<\/th><td><\/td><td>0\.89<\/td>/);
  // FAR rows are the union over the columns, largest FAR first.
  assert.match(html, /TAR @ FAR = 1e-2<\/th><td><\/td><td><\/td><td>0\.67 ± 0\.15<\/td>[\s\S]*TAR @ FAR = 1e-3<\/th><td>0\.3<\/td>/);
  assert.ok(!html.includes('F1'), 'rows no column has are left out');
});

void test('LFW reference columns carry the published View 2 numbers', () => {
  const html = renderMetricsTable(referenceColumns('lfw', 'view1'));
  for (const v of ['0.8835', '0.8846', '0.8823', '0.9508', '1.104', '0.6107', '0.863', '0.918 ± 0.014']) assert.ok(html.includes(`<td>${v}</td>`), v);
});

void test('timings: mean seconds per epoch, images/s from images and seconds, total wall time', () => {
  const html = renderTimings(smallReport().timings ?? {});
  assert.match(html, /Time per epoch \(mean\)<\/th><td>2\.5 s<\/td>/);
  // (300/3 + 300/2 + 120) / 3 = 123.3
  assert.match(html, /Training images \/ s \(mean\)<\/th><td>123\.3<\/td>/);
  assert.match(html, /Total wall time \(first to last file of the run, pauses included\)<\/th><td>2 min 5 s<\/td>/);
  assert.equal((html.match(/<tr><td>\d<\/td>/g) ?? []).length, 3, 'one per-epoch row each');
});

void test('the report escapes everything that comes from data', () => {
  const html = renderRunReport(smallReport());
  assert.ok(!html.includes('<script>'), 'no script from config');
  assert.ok(!html.includes('<demo>'));
  assert.ok(!html.includes('<b>smoke</b>'));
  assert.match(html, /<title>AT&amp;T &lt;demo&gt;<\/title>/);
  assert.match(html, /&lt;\/pre&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /Tiny &lt;b&gt;smoke&lt;\/b&gt; run &amp; nothing more\./);
});

void test('the report is self-contained: five inline SVG plots, config as YAML, no external references', () => {
  const html = renderRunReport(smallReport());
  const plots = [...html.matchAll(/<svg [^>]*data-plot="([a-z]+)"/g)].map((m) => m[1]);
  assert.deepEqual(plots, ['training', 'roc', 'eer', 'distances', 'tsne']);
  assert.ok(html.includes('<pre class="config">name: demo\ndataset:\n  name: att\ntraining:\n  epochs: 3'), 'config as YAML');
  assert.ok(!/\b(src|href)=/.test(html), 'no src/href attributes');
  const urls = html.match(/https?:\/\/[^"\s<]+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace');
});

void test('optional parts are left out, and a malformed plot becomes a visible error instead of a lost report', () => {
  const html = renderRunReport({ runId: 'r1', roc: { far: [0, 1], tar: [0] } });
  assert.match(html, /<h1 id="title">Run r1<\/h1>/);
  assert.match(html, /This plot could not be drawn: rocSvg: far has 2 values but tar has 1/);
  assert.ok(!html.includes('id="timings"'));
  assert.ok(!html.includes('id="config"'));
  assert.match(html, /No metrics recorded\./);
});

void test('writeReportFiles writes report.html and SVG + PNG plots into the run directory', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'report-html-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const res = await writeReportFiles(dir, smallReport());
  assert.equal(res.reportPath, path.join(dir, 'report.html'));
  assert.deepEqual(res.warnings, []);
  const files = (await readdir(path.join(dir, 'plots'))).sort();
  assert.deepEqual(files, ['distances.png', 'distances.svg', 'eer.png', 'eer.svg', 'roc.png', 'roc.svg', 'training.png', 'training.svg', 'tsne.png', 'tsne.svg']);
  const roc = await readFile(path.join(dir, 'plots', 'roc.svg'), 'utf8');
  assert.match(roc, /AUC = 0\.9700/);
  // The PNG is the SVG at twice its size (880 x 434 for the ROC).
  const meta = await sharp(path.join(dir, 'plots', 'roc.png')).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 1760);
  assert.equal(meta.height, 868);
  const html = await readFile(res.reportPath, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  // No temporary files left behind.
  assert.deepEqual((await readdir(dir)).sort(), ['plots', 'report.html']);
});

void test('PNG rendering draws text (a font is installed: Debian package fonts-dejavu-core)', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#fff"/><text x="5" y="28" font-size="24" font-family="DejaVu Sans" fill="#000">EER 0.1</text></svg>';
  const png = await svgToPng(svg, 1);
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 120);
  const dark = data.reduce((n, v) => n + (v < 128 ? 1 : 0), 0);
  // Seven glyphs at 24 px cover a few hundred pixels; with no font at all librsvg draws nothing.
  assert.ok(dark > 150, `only ${dark} dark pixels: is a font (fonts-dejavu-core) installed?`);
});
