// Opens a written report in headless Chromium and checks that the page really renders: the DOM holds
// the five plots as SVG and the metrics table, and a screenshot shows the plots' ink. Needs Debian's
// `chromium` package (CI: apt-get install -y chromium); skips with a message when it is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { referenceColumns, writeReportFiles, type RunReportData } from '../../src/report';

const CHROMIUM = '/usr/bin/chromium';

function reportData(): RunReportData {
  return {
    runId: 'browser-check',
    title: 'Browser check <run>',
    config: { name: 'browser-check', training: { epochs: 3 } },
    metrics: { accuracy: 0.9512, auc: 0.9731, eer: 0.0812, threshold: 0.93 },
    comparisons: referenceColumns('att'),
    trainingLog: [
      { epoch: 1, loss: 0.9, lr: 2e-4 },
      { epoch: 2, loss: 0.6, lr: 2e-4, accuracy: 0.9, auc: 0.93 },
      { epoch: 3, loss: 0.4, lr: 2e-4, accuracy: 0.95, auc: 0.97 },
    ],
    roc: { far: [0, 0.01, 0.1, 0.5, 1], tar: [0, 0.6, 0.9, 0.98, 1], auc: 0.9731 },
    eer: { thresholds: [0.5, 0.93, 1.5], far: [0, 0.08, 1], frr: [0.9, 0.08, 0], eer: 0.0812, eerThreshold: 0.93 },
    distances: { distances: [0.3, 0.5, 1.2, 1.4, 0.95, 0.7], same: [true, true, false, false, false, true], threshold: 0.93 },
    tsne: { embeddings: [0, 0, 0.1, 0, 5, 5, 5.1, 5, 0, 0.1, 5, 5.1], dim: 2, labels: ['s1', 's1', 's2', 's2', 's1', 's2'] },
    timings: { epochs: [{ epoch: 1, seconds: 2, images: 200 }], totalSeconds: 10 },
  };
}

function chromium(args: string[], userDataDir: string): { stdout: string; stderr: string } {
  const res = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${userDataDir}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (res.error) throw new Error(`chromium failed to run: ${res.error.message}`);
  assert.equal(res.status, 0, `chromium exited with ${res.status}: ${res.stderr.slice(-2000)}`);
  return { stdout: res.stdout, stderr: res.stderr };
}

void test('the run report renders in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser check of the report`);
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'report-browser-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { reportPath } = await writeReportFiles(path.join(dir, 'run'), reportData(), { png: false });
  const url = pathToFileURL(reportPath).href;

  // 1. The DOM after parsing: the SVGs became elements, the table holds the numbers.
  const { stdout: dom } = chromium(['--dump-dom', url], path.join(dir, 'profile-dom'));
  const plots = [...dom.matchAll(/<svg [^>]*data-plot="([a-z]+)"/g)].map((m) => m[1]);
  assert.deepEqual(plots, ['training', 'roc', 'eer', 'distances', 'tsne']);
  assert.match(dom, /<title>Browser check &lt;run&gt;<\/title>/);
  assert.match(dom, /<th scope="row">Accuracy<\/th><td>0\.9512<\/td><td>0\.984<\/td><td>0\.943 ± 0\.023<\/td>/);
  assert.match(dom, /<th scope="row">ROC AUC<\/th><td>0\.9731<\/td><td>0\.981<\/td>/);
  assert.match(dom, />ROC curve \(AUC = 0\.9731\)<\/text>/);
  assert.match(dom, />EER = 0\.081 at threshold 0\.930<\/text>/);
  assert.equal((dom.match(/<circle class="point"/g) ?? []).length, 6, 't-SNE points');

  // 2. The pixels: the ROC curve's blue (#4e79a7) and the threshold rule's red (#e15759) were painted.
  const shot = path.join(dir, 'shot.png');
  chromium(['--window-size=1200,4000', '--hide-scrollbars', `--screenshot=${shot}`, url], path.join(dir, 'profile-shot'));
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 1200);
  const near = (i: number, rgb: [number, number, number]) =>
    Math.abs((data[i] as number) - rgb[0]) < 12 && Math.abs((data[i + 1] as number) - rgb[1]) < 12 && Math.abs((data[i + 2] as number) - rgb[2]) < 12;
  let blue = 0;
  let red = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (near(i, [0x4e, 0x79, 0xa7])) blue++;
    else if (near(i, [0xe1, 0x57, 0x59])) red++;
  }
  assert.ok(blue > 500, `only ${blue} pixels of plot blue in the screenshot`);
  assert.ok(red > 100, `only ${red} pixels of plot red in the screenshot`);
});
