// The console summary: one table of throughputs with the tfjs/PyTorch ratios, then the data figures.
import type { TorchResult } from './torch';
import type { BenchReport } from './types';

/** How a measurement's backend is shown: wasm with its thread count. */
export function backendLabel(backend: string, wasmThreads?: number): string {
  return wasmThreads === undefined ? backend : `${backend} x${wasmThreads}`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function torchCell(r: TorchResult | undefined): string {
  return r ? `${fmt(r.images_per_s)} (${String(r.threads)}t)` : '-';
}

export function printReport(r: BenchReport): void {
  const rows: string[][] = [['backend', 'shape', 'params', 'train img/s', 'embed img/s', 'torch train', 'torch embed', 'train ratio', 'embed ratio', 'tensors +/step', 'peak RSS MiB']];
  for (const m of r.measurements) {
    const t = r.torch?.results.find((x) => x.shape === m.shape);
    rows.push([
      backendLabel(m.backend, m.wasmThreads),
      m.shapeLabel,
      m.result ? (m.result.params / 1e6).toFixed(2) + 'M' : '-',
      fmt(m.result?.train.imagesPerS),
      fmt(m.result?.embed.imagesPerS),
      torchCell(t?.train),
      torchCell(t?.embed),
      fmt(m.ratio?.train, 3),
      fmt(m.ratio?.embed, 3),
      m.result ? `${m.result.liveTensors.train.growthAfterWarmup}/${m.result.liveTensors.embed.growthAfterWarmup}` : m.error ?? '-',
      fmt(m.processPeakRssMiB ?? m.result?.peakRssMiB, 0),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  for (const row of rows) console.log(row.map((cell, c) => pad(cell, widths[c]!)).join('  '));
  if (r.torch && !r.torch.available) console.log(`\n--compare-torch: ${r.torch.message}`);
  if (r.data) {
    console.log('');
    for (const p of r.data.preprocess) console.log(`preprocess ${p.dataset}: ${p.imagesPerS} images/s (${p.images} images, ${p.concurrency} in flight)`);
    for (const c of r.data.cache) {
      const build = c.build ? `, built in this run at ${c.build.imagesPerS} images/s` : '';
      console.log(`cache ${c.dataset}: ${c.images} images, ${c.megabytes} MB, load ${c.loadS} s (${c.loadMBPerS} MB/s)${build}; batches ${c.assembleImagesPerS} images/s`);
    }
    for (const e of r.data.cacheLoadPerEpoch) console.log(`cache load per epoch ${e.dataset} on ${e.backend}: ${e.loadS} s of an epoch of ~${e.epochS} s (${(e.share * 100).toFixed(2)} %)`);
    const pe = r.data.pairEval;
    if (pe) console.log(`LFW pair evaluation: ${pe.pairs} pairs, ${pe.folds} folds: ${pe.medianS} s (flip TTA ${pe.flipTtaMedianS} s) ${pe.underOneSecond ? '< 1 s OK' : '>= 1 s: TOO SLOW'}`);
  }
  if (r.profile) {
    const p = r.profile;
    console.log(`\n${p.backend} training-step profile (${p.shape}, batch ${p.batch}): step ${p.stepMs} ms, kernels ${p.kernelMs} ms (self time; inclusive in brackets)`);
    for (const k of p.top.slice(0, 12)) {
      console.log(`  ${pad(k.kernel, 44)} ${k.selfMs.toFixed(1).padStart(9)} ms  ${(k.share * 100).toFixed(1).padStart(5)} %  [${k.inclusiveMs.toFixed(1)}]  ${k.calls} calls`);
    }
    console.log('  by inclusive time:');
    for (const k of p.topInclusive.slice(0, 8)) console.log(`  ${pad(k.kernel, 44)} ${k.inclusiveMs.toFixed(1).padStart(9)} ms  ${k.calls} calls`);
  }
  if (r.convCeiling) {
    console.log('\nsingle 3x3 convolution, GMAC/s (the ceiling of a whole network; in brackets with a new filter each call, as in training):');
    const lines = [
      ...r.convCeiling.tfjs.map((t) => ({ who: t.backend, rates: t.rates, error: t.error })),
      ...r.convCeiling.torch.map((t) => ({ who: `PyTorch ${t.threads} thread${t.threads > 1 ? 's' : ''}`, rates: t.rates, error: t.error })),
    ];
    for (const l of lines) console.log(`  ${pad(l.who, 18)} ${l.rates ? l.rates.map((x) => `${x.layer}: ${fmt(x.gmacPerS)}` + (x.newFilterGmacPerS === undefined ? '' : ` (new filter ${fmt(x.newFilterGmacPerS)})`)).join(', ') : l.error}`);
  }
  console.log(`\npeak RSS of the process: ${r.peakRssMiB} MiB; load average ${r.machine.loadAverageStart.join(' ')} at start, ${r.machine.loadAverageEnd.join(' ')} at end`);
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
}
