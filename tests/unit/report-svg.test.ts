// The chart kit under the plots: tick rules, scales and escaping of text that comes from data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml } from '../../src/report/escape';
import { linearScale, logScale, renderPanel, svgDocument, tickStep, categoryColor, PALETTE } from '../../src/report/svg';

void test('tickStep picks 1, 2 or 5 times a power of ten', () => {
  assert.equal(tickStep(0, 1, 5), 0.2);
  assert.equal(tickStep(0, 10, 5), 2);
  assert.equal(tickStep(0, 100, 10), 10);
  assert.equal(tickStep(0, 0.7, 5), 0.1);
  assert.equal(tickStep(0, 35, 5), 5);
});

void test('a linear scale maps the domain onto the range and ticks at nice values', () => {
  const s = linearScale([0, 1], [100, 300]);
  assert.deepEqual(s.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(s.map(0), 100);
  assert.equal(s.map(0.5), 200);
  assert.equal(s.map(1), 300);
  assert.equal(s.format(0.4), '0.4');
});

void test('a nice linear scale widens the domain to whole steps; integer ticks for epochs', () => {
  const s = linearScale([0.13, 0.87], [0, 100], { nice: true });
  assert.deepEqual(s.domain, [0, 1]);
  const e = linearScale([1, 3], [0, 100], { integer: true });
  assert.deepEqual(e.ticks, [1, 2, 3]);
});

void test('a constant series still gets a non-empty domain', () => {
  const s = linearScale([2e-4, 2e-4], [0, 100]);
  assert.ok(s.domain[0] < 2e-4 && s.domain[1] > 2e-4);
  assert.equal(s.map(2e-4), 50);
});

void test('small values are formatted in exponent notation', () => {
  const s = linearScale([0, 4e-4], [0, 100]);
  assert.equal(s.format(2e-4), '2e-4');
});

void test('a log scale ticks at decades and rejects non-positive domains', () => {
  const s = logScale([1e-3, 1], [0, 300]);
  assert.deepEqual(s.ticks, [0.001, 0.01, 0.1, 1]);
  assert.equal(s.map(1e-3), 0);
  assert.equal(s.map(0.01), 100);
  assert.equal(s.map(1), 300);
  assert.equal(s.format(0.01), '0.01');
  assert.equal(s.format(1e-4), '1e-4');
  assert.throws(() => logScale([0, 1], [0, 1]), /must be positive/);
});

void test('a log scale over one decade adds the 2 and 5 ticks', () => {
  const s = logScale([0.1, 1], [0, 100]);
  assert.deepEqual(s.ticks, [0.1, 0.2, 0.5, 1]);
});

void test('escapeHtml escapes the five markup characters', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  assert.equal(escapeHtml(42), '42');
});

void test('renderPanel draws one path per line, escapes titles and labels', () => {
  const g = renderPanel({
    x: 0, y: 0, width: 400, height: 300, title: 'A < B',
    xAxis: { title: 'x & y' }, yAxis: { title: 'value' },
    lines: [{ xs: [0, 1, 2], ys: [0, 1, 4], color: '#000', label: '<b>series</b>' }],
    rules: [{ orientation: 'vertical', value: 1, color: '#f00', label: 't' }],
  });
  assert.equal((g.match(/<path class="line"/g) ?? []).length, 1);
  assert.match(g, /d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+"/);
  assert.match(g, />A &lt; B</);
  assert.match(g, />x &amp; y</);
  assert.match(g, />&lt;b&gt;series&lt;\/b&gt;</);
  assert.ok(!g.includes('<b>'));
  assert.equal((g.match(/<line class="rule"/g) ?? []).length, 1);
});

void test('svgDocument is a standalone SVG with a viewBox', () => {
  const svg = svgDocument({ width: 200, height: 100, title: 'T', plotName: 'p', body: '' });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="plot" data-plot="p" width="200" height="100" viewBox="0 0 200 100"/);
});

void test('category colours: the palette first, then distinct hues', () => {
  assert.equal(categoryColor(0), PALETTE[0]);
  assert.notEqual(categoryColor(10), categoryColor(11));
  assert.match(categoryColor(10), /^hsl\(/);
});
