// Validates our LFW evaluation on a published model: face-api's 128-d descriptor (a port of dlib's
// ResNet, 99.38% published on LFW) on LFW View 2 through its own preprocessing, then our 10-fold
// protocol. A large gap to the published figure would mean a bug in our evaluator or in the crops.
//
//   npx tsx scripts/validate-published/main.ts [--limit 50] [--deadline 19:15] [--report-only]
//
// Descriptors are cached per image in .cache/published/*.bin, so a stopped run continues where it
// stopped. Passes: (1) face-api's pipeline (detect -> landmarks -> aligned crop), (2) fallback crops
// for the images the detector missed, (3) the same fixed crop for every image, for comparison.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { writeJsonAtomic } from '../../src/util/durable-fs';
import * as tf from '@tensorflow/tfjs-core';
import { parsePairs, lfwImagePath, type LfwPair } from '../../src/data/lfw-protocol';
import { evaluateKFold, distancesForPairs, metricsAtThreshold, type KFoldReport, type PairIndex } from '../../src/eval';
import { bruteForceKFold } from './brute-force-kfold';
import { loadFaceApi, type PublishedBackend } from './face-api';
import { DescriptorCache, type CachedDescriptor, type CropStatus } from './descriptor-cache';
import { describeCrop, describeDetectedFace, describeDetector, readRgb, rgbTensor, DESCRIPTOR_DIM, type DetectorSpec, type RgbImage } from './describe';
import { isCentred, medianBox, type PixelBox } from './crop';

const PUBLISHED_ACCURACY = 0.9938;
/** Every lfw-deepfunneled image is 250x250 (shared/datasets README); used to re-check cached crops without decoding. */
const LFW_SIDE = 250;
const FAR_TARGETS = [1e-2, 1e-3];
/** dlib's documented decision threshold for this model's euclidean distances. */
const DLIB_THRESHOLD = 0.6;

interface Options {
  lfwDir: string;
  pairs: string;
  cacheDir: string;
  out: string;
  backend: PublishedBackend;
  inputSize: number;
  minScore: number;
  ssdRetry: boolean;
  lowScore: number;
  limit?: number;
  deadline?: string;
  reportOnly: boolean;
  skipCentre: boolean;
  skipDlibChip: boolean;
  maxCentreOffset: number;
}

function parseArgs(): Options {
  const p = new Command()
    .option('--lfw-dir <dir>', 'LFW root holding lfw-deepfunneled/', '../shared/datasets/lfw')
    .option('--pairs <file>', 'View 2 pairs file', '../shared/datasets/lfw/pairs.txt')
    .option('--cache-dir <dir>', 'descriptor cache', '.cache/published')
    .option('--out <file>', 'result JSON', 'results/published-model-lfw-view2.json')
    .option('--backend <name>', 'wasm | cpu', 'wasm')
    .option('--input-size <n>', 'TinyFaceDetector input size', '320')
    .option('--min-score <x>', 'detection score threshold', '0.5')
    .option('--no-ssd-retry', 'do not retry with SSD MobileNet (minConfidence 0.3) where the tiny detector finds nothing')
    .option('--low-score <x>', 'last-chance TinyFaceDetector score threshold where both find nothing (0 = none)', '0.1')
    .option('--limit <n>', 'process only the first N images (speed trial), no report')
    .option('--deadline <HH:MM>', 'UTC time after which no new image is started (the report covers the folds done)')
    .option('--report-only', 'compute nothing, report from the cache', false)
    .option('--skip-centre', 'skip the fixed-crop comparison pass', false)
    .option('--max-centre-offset <px>', 'a face counts only if its crop centre is within this of the image centre', '40')
    .option('--skip-dlib-chip', "skip the dlib-chip pass (rotation-normalised, dlib's scale)", false)
    .parse();
  const o = p.opts();
  if (o.backend !== 'wasm' && o.backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got ${o.backend}`);
  return {
    lfwDir: o.lfwDir,
    pairs: o.pairs,
    cacheDir: o.cacheDir,
    out: o.out,
    backend: o.backend,
    inputSize: Number(o.inputSize),
    minScore: Number(o.minScore),
    ssdRetry: Boolean(o.ssdRetry),
    lowScore: Number(o.lowScore),
    limit: o.limit === undefined ? undefined : Number(o.limit),
    deadline: o.deadline,
    reportOnly: Boolean(o.reportOnly),
    skipCentre: Boolean(o.skipCentre),
    skipDlibChip: Boolean(o.skipDlibChip),
    maxCentreOffset: Number(o.maxCentreOffset),
  };
}

function deadlineMs(hhmm: string | undefined): number {
  if (!hhmm) return Infinity;
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new Error(`--deadline must be HH:MM (UTC), got ${hhmm}`);
  const d = new Date();
  d.setUTCHours(Number(m[1]), Number(m[2]), 0, 0);
  return d.getTime();
}

function log(msg: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${msg}`);
}

/** Unique images in order of first use; pairs.txt lists fold 1 first, so early images complete early folds. */
function imageList(pairs: readonly LfwPair[]): { images: string[]; pairIndex: PairIndex[] } {
  const index = new Map<string, number>();
  const at = (name: string, n: number) => {
    const rel = lfwImagePath(name, n);
    if (!index.has(rel)) index.set(rel, index.size);
    return index.get(rel) as number;
  };
  const pairIndex = pairs.map((p) => ({ a: at(p.nameA, p.imageA), b: at(p.nameB, p.imageB) }));
  return { images: [...index.keys()], pairIndex };
}

interface Timing {
  images: number;
  seconds: number;
}

/** Runs `work` on every image not yet cached, in order, until done or the deadline. */
async function runPass(
  label: string,
  cache: DescriptorCache,
  todo: number[],
  stopAt: number,
  work: (index: number, image: tf.Tensor3D, rgb: RgbImage) => Promise<CachedDescriptor | undefined>,
  lfwDir: string,
): Promise<{ missed: number[]; timing: Timing; stopped: boolean }> {
  const missed: number[] = [];
  const start = Date.now();
  let done = 0;
  for (const index of todo) {
    if (Date.now() >= stopAt) {
      log(`${label}: deadline reached after ${done} images; ${todo.length - done} left for a restart`);
      return { missed, timing: { images: done, seconds: (Date.now() - start) / 1000 }, stopped: true };
    }
    const file = path.join(lfwDir, cache.images[index] as string);
    const rgb = await readRgb(file);
    const image = rgbTensor(rgb);
    try {
      const entry = await work(index, image, rgb);
      if (entry) cache.put(index, entry);
      else missed.push(index);
    } finally {
      image.dispose();
    }
    done++;
    if (done % 50 === 0 || done === todo.length) {
      const s = (Date.now() - start) / 1000;
      const eta = ((todo.length - done) * s) / done / 60;
      log(`${label}: ${done}/${todo.length} (${(s / done).toFixed(3)} s/image, ${missed.length} missed, ETA ${eta.toFixed(1)} min, tensors ${tf.memory().numTensors})`);
    }
  }
  return { missed, timing: { images: done, seconds: (Date.now() - start) / 1000 }, stopped: false };
}

interface VariantResult {
  description: string;
  complete: boolean;
  foldsEvaluated: number[];
  pairsEvaluated: number;
  kfold?: Omit<KFoldReport, 'perFold'> & { perFold: Array<{ fold: number; accuracy: number; threshold: number; auc: number }> };
  /** The same folds through an independent brute-force implementation (scripts/validate-published/brute-force-kfold). */
  crossCheck?: { accuracyMean: number; accuracyStd: number; maxFoldAccuracyDifference: number; maxFoldThresholdDifference: number };
  /** Accuracy over all evaluated pairs at dlib's fixed 0.6, no threshold tuning. */
  atDlibThreshold?: { threshold: number; accuracy: number; tar: number; far: number };
  /** Mean distance of matched / mismatched pairs. */
  meanDistance?: { matched: number; mismatched: number };
  /** Every pair misclassified at its fold's threshold, with how its two crops were obtained. */
  errors?: Array<{ fold: number; a: string; b: string; same: boolean; distance: number; threshold: number; cropA?: string; cropB?: string }>;
}

/** Evaluates the folds whose 600 pairs all have descriptors (all 10 once the run is complete). */
/** What evaluateVariant reads: a cache, or a mix of two. */
type DescriptorSource = Pick<DescriptorCache, 'images' | 'has' | 'get'>;

function evaluateVariant(description: string, cache: DescriptorSource, pairs: readonly LfwPair[], pairIndex: readonly PairIndex[]): VariantResult {
  const folds = [...new Set(pairs.map((p) => p.fold))];
  const ready = folds.filter((f) => pairs.every((p, i) => p.fold !== f || (cache.has((pairIndex[i] as PairIndex).a) && cache.has((pairIndex[i] as PairIndex).b))));
  const keep = pairs.map((p, i) => i).filter((i) => ready.includes((pairs[i] as LfwPair).fold));
  const result: VariantResult = { description, complete: ready.length === folds.length, foldsEvaluated: ready.map((f) => f + 1), pairsEvaluated: keep.length };
  if (ready.length < 2) return result;
  const emb = new Float32Array(cache.images.length * DESCRIPTOR_DIM);
  for (let i = 0; i < cache.images.length; i++) {
    const e = cache.get(i);
    if (e) emb.set(e.descriptor, i * DESCRIPTOR_DIM);
  }
  const distances = distancesForPairs(emb, DESCRIPTOR_DIM, keep.map((i) => pairIndex[i] as PairIndex), 'euclidean');
  const labels = keep.map((i) => (pairs[i] as LfwPair).same);
  const foldOf = keep.map((i) => (pairs[i] as LfwPair).fold);
  const report = evaluateKFold(distances, labels, foldOf, { farTargets: FAR_TARGETS });
  result.kfold = {
    ...report,
    perFold: report.perFold.map((r) => ({ fold: r.fold + 1, accuracy: r.accuracy, threshold: r.threshold, auc: r.auc })),
  };
  const brute = bruteForceKFold([...distances], labels, foldOf);
  result.crossCheck = {
    accuracyMean: brute.mean,
    accuracyStd: brute.std,
    maxFoldAccuracyDifference: Math.max(...brute.perFold.map((b, k) => Math.abs(b.accuracy - (report.perFold[k]?.accuracy ?? NaN)))),
    maxFoldThresholdDifference: Math.max(...brute.perFold.map((b, k) => Math.abs(b.threshold - (report.perFold[k]?.threshold ?? NaN)))),
  };
  const fixed = metricsAtThreshold(distances, labels, DLIB_THRESHOLD);
  result.atDlibThreshold = { threshold: DLIB_THRESHOLD, accuracy: fixed.accuracy, tar: fixed.tar, far: fixed.far };
  const mean = (want: boolean) => {
    const v = [...distances].filter((_, i) => labels[i] === want);
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  result.meanDistance = { matched: mean(true), mismatched: mean(false) };
  const thresholdOf = new Map(report.perFold.map((r) => [r.fold, r.threshold]));
  result.errors = keep.flatMap((pi, k) => {
    const p = pairs[pi] as LfwPair;
    const { a, b } = pairIndex[pi] as PairIndex;
    const t = thresholdOf.get(p.fold) as number;
    const d = distances[k] as number;
    if (d < t === p.same) return [];
    const name = (i: number) => (cache.images[i] as string).replace(/^lfw-deepfunneled\//, '');
    return [{ fold: p.fold + 1, a: name(a), b: name(b), same: p.same, distance: d, threshold: t, cropA: cache.get(a)?.status, cropB: cache.get(b)?.status }];
  });
  return result;
}

function previousTimings(file: string): unknown {
  if (!fs.existsSync(file)) return null;
  const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { timingsOfLastComputeRun?: unknown; timingsThisRun?: unknown };
  return old.timingsOfLastComputeRun ?? old.timingsThisRun ?? null;
}

/** How each image's crop was obtained, counted, for the report. */
function detectionSummary(cache: DescriptorCache, pairIndex: readonly PairIndex[]) {
  const statuses = cache.images.map((_, i) => cache.get(i)?.status);
  const named = (s: CropStatus) => cache.images.filter((_, i) => statuses[i] === s).map((f) => f.replace(/^lfw-deepfunneled\//, ''));
  return {
    imagesDescribed: cache.size,
    detected: statuses.filter((s) => s === 'detected').length,
    detectedOnRetry: statuses.filter((s) => s === 'detected-retry').length,
    detectedAtLowScore: statuses.filter((s) => s === 'detected-low').length,
    detectionFailed: statuses.filter((s) => s === 'fallback').length,
    failedImages: named('fallback'),
    pairsWithAFailedImage: pairIndex.filter((p) => statuses[p.a] === 'fallback' || statuses[p.b] === 'fallback').length,
    retriedImages: named('detected-retry'),
    lowScoreImages: named('detected-low'),
  };
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const stopAt = deadlineMs(opts.deadline);
  const pairsText = fs.readFileSync(opts.pairs, 'utf8');
  const { pairs } = parsePairs(pairsText, opts.pairs);
  const { images, pairIndex } = imageList(pairs);
  log(`${pairs.length} pairs, ${images.length} unique images`);
  const ro = { readOnly: opts.reportOnly };
  const open = (name: string) => DescriptorCache.open(path.join(opts.cacheDir, name), images, DESCRIPTOR_DIM, ro);
  const aligned = open('faceapi-aligned.bin');
  const centred = open('faceapi-aligned-centred.bin');
  const fixed = open('faceapi-fixed-crop.bin');
  const dlibChip = open('faceapi-dlib-chip.bin');
  log(`cache: ${aligned.size} aligned, ${centred.size} centred, ${fixed.size} fixed-crop, ${dlibChip.size} dlib-chip descriptors already computed`);

  const timings: Record<string, Timing> = {};
  let stopped = false;
  const detectors: DetectorSpec[] = [{ kind: 'tiny', inputSize: opts.inputSize, scoreThreshold: opts.minScore }];
  if (opts.ssdRetry) detectors.push({ kind: 'ssd', minConfidence: 0.3 });
  if (opts.lowScore > 0) detectors.push({ kind: 'tiny', inputSize: opts.inputSize, scoreThreshold: opts.lowScore });
  // The cache status says which detector found the face: first, a retry, or the low-score last chance.
  const statusOf = (k: number): CropStatus => (k === 0 ? 'detected' : k === detectors.length - 1 && opts.lowScore > 0 ? 'detected-low' : 'detected-retry');
  const gate = opts.maxCentreOffset;
  const confident = (e: CachedDescriptor | undefined) => e !== undefined && (e.status === 'detected' || e.status === 'detected-retry');
  const medianOfAligned = () => {
    const boxes = images.flatMap((_, i) => (confident(aligned.get(i)) ? [(aligned.get(i) as CachedDescriptor).box] : []));
    return { box: medianBox(boxes), of: boxes.length };
  };

  if (!opts.reportOnly) {
    const faceapi = await loadFaceApi({ backend: opts.backend });
    log(`face-api ${faceapi.version} on tfjs-core ${tf.version_core}, backend ${tf.getBackend()}`);
    const limit = opts.limit ?? images.length;
    const todo = (cache: DescriptorCache) => images.map((_, i) => i).filter((i) => i < limit && !cache.has(i));
    const withFallback = async (label: string, cache: DescriptorCache, missed: number[], box: PixelBox) => {
      const p = await runPass(label, cache, missed, Infinity, async (i, image) => ({ status: 'fallback', box, descriptor: fixed.get(i)?.descriptor ?? (await describeCrop(faceapi, image, box)) }), opts.lfwDir);
      timings[label] = p.timing;
    };
    // Pass 1: face-api's own pipeline, the face nearest the centre wherever it is.
    const p1 = await runPass('aligned', aligned, todo(aligned), stopAt, async (_i, image) => {
      const d = await describeDetectedFace(faceapi, image, detectors);
      return d && { status: statusOf(d.detector), box: d.box, descriptor: d.descriptor };
    }, opts.lfwDir);
    timings.aligned = p1.timing;
    stopped = p1.stopped;
    const fixedBox = medianOfAligned();
    log(`fixed crop (median of ${fixedBox.of} aligned boxes): ${JSON.stringify(fixedBox.box)}`);
    const box = fixedBox.box;
    await withFallback('aligned-fallback', aligned, p1.missed, box);
    // Pass 2: the same, but a face counts only if its crop is centred (LFW cuts each image around the
    // labelled face; an off-centre crop is a bystander): the next detector is tried, then the fixed
    // crop. A cached pass-1 crop that is centred is what this pass would compute, so it is reused.
    for (const i of todo(centred)) {
      const e = aligned.get(i);
      if (e && e.status !== 'fallback' && isCentred(e.box, LFW_SIDE, LFW_SIDE, gate)) centred.put(i, e);
    }
    const p2 = await runPass('centred', centred, todo(centred), stopAt, async (_i, image) => {
      const d = await describeDetectedFace(faceapi, image, detectors, { maxCentreOffset: gate });
      return d && { status: statusOf(d.detector), box: d.box, descriptor: d.descriptor };
    }, opts.lfwDir);
    timings.centred = p2.timing;
    stopped ||= p2.stopped;
    // Pass 3: the fixed crop for every image, to compare with the aligned crops.
    if (!opts.skipCentre && !stopped) {
      const p3 = await runPass('fixed-crop', fixed, todo(fixed), stopAt, async (_i, image) => ({ status: 'fallback', box, descriptor: await describeCrop(faceapi, image, box) }), opts.lfwDir);
      timings.fixedCrop = p3.timing;
      stopped ||= p3.stopped;
    }
    await withFallback('centred-fallback', centred, p2.missed, box);
    // Pass 4: centred detections, but dlib's chip geometry: turned so the eyes are level (face-api's
    // box is not) and dlib's scale/centre (chip.ts DLIB_CHIP); the fixed crop where no detector finds a face.
    if (!opts.skipDlibChip && !stopped) {
      const p4 = await runPass('dlib-chip', dlibChip, todo(dlibChip), stopAt, async (i, image, rgb) => {
        const d = await describeDetectedFace(faceapi, image, detectors, { chipFrom: rgb, dlibChip: true, maxCentreOffset: gate });
        if (d) return { status: statusOf(d.detector), box: d.box, descriptor: d.descriptor };
        return { status: 'fallback', box, descriptor: fixed.get(i)?.descriptor ?? (await describeCrop(faceapi, image, box)) };
      }, opts.lfwDir);
      timings.dlibChip = p4.timing;
      stopped ||= p4.stopped;
    }
    if (opts.limit !== undefined) {
      log(`speed trial done: ${JSON.stringify(timings)}`);
      return;
    }
  }

  const detectorText = `${detectors.map(describeDetector).join(', then where it finds nothing ')}; 68-landmark net; face-api's dlib-alignment box; 150x150`;
  const result = {
    what: 'Our LFW View 2 evaluation (src/eval evaluateKFold) run on a published pretrained model',
    model: {
      package: '@vladmandic/face-api@1.7.15 (devDependency), model/face_recognition_model (port of dlib dlib_face_recognition_resnet_model_v1)',
      descriptor: `${DESCRIPTOR_DIM}-d, raw (not L2-normalised), euclidean distance`,
      detectors: detectorText,
      maxCentreOffsetPx: gate,
      backend: opts.backend,
    },
    published: { accuracy: PUBLISHED_ACCURACY, source: "dlib's LFW figure for dlib_face_recognition_resnet_model_v1 (99.38% mean accuracy), quoted by face-api" },
    dataset: { images: 'lfw-deepfunneled (250x250)', pairs: 'pairs.txt (View 2, 10 folds x 600 pairs)', totalPairs: pairs.length, uniqueImages: images.length },
    fixedCropBox: aligned.size > 0 ? medianOfAligned().box : null,
    /** The headline: face-api's pipeline with the labelled (centred) face. */
    centred: {
      ...evaluateVariant(
        `face-api pipeline, the face nearest the centre if its crop is within ${gate} px of the image centre (else next detector, else the fixed crop)`,
        centred,
        pairs,
        pairIndex,
      ),
      detection: detectionSummary(centred, pairIndex),
    },
    aligned: {
      ...evaluateVariant("face-api pipeline, the face nearest the centre wherever it is; fixed crop for the detectors' misses", aligned, pairs, pairIndex),
      detection: detectionSummary(aligned, pairIndex),
    },
    fixedCrop: evaluateVariant('the same fixed crop (median aligned box) for every image, no detection', fixed, pairs, pairIndex),
    dlibChip: {
      ...evaluateVariant(
        "as 'centred', but dlib's chip: turned so the eyes are level, dlib's scale and centre (150x150, bilinear); fixed crop for misses",
        dlibChip,
        pairs,
        pairIndex,
      ),
      detection: detectionSummary(dlibChip, pairIndex),
    },
    timingsThisRun: timings,
    /** A --report-only run keeps the timings of the run that computed the descriptors. */
    timingsOfLastComputeRun: opts.reportOnly ? previousTimings(opts.out) : timings,
    stoppedAtDeadline: stopped,
  };
  const head = result.centred;
  const summary = head.kfold && {
    variant: 'centred (face-api pipeline, labelled face)',
    folds: head.complete ? 'all 10 folds' : `PARTIAL: folds ${head.foldsEvaluated.join(',')}`,
    pairs: head.pairsEvaluated,
    accuracyMean: head.kfold.accuracy.mean,
    accuracyStd: head.kfold.accuracy.std,
    publishedAccuracy: PUBLISHED_ACCURACY,
    gapPoints: 100 * (PUBLISHED_ACCURACY - head.kfold.accuracy.mean),
    auc: head.kfold.aucAll,
    tarAtFar1e2: head.kfold.tarAtFar.find((t) => t.farTarget === 1e-2)?.tar.mean ?? null,
    tarAtFar1e3: head.kfold.val.tar.mean,
    meanThreshold: head.kfold.threshold.mean,
    imagesWithoutDetection: head.detection.detectionFailed,
    pairsWithAnImageWithoutDetection: head.detection.pairsWithAFailedImage,
  };
  const report = {
    summary: summary ?? null,
    ...result,
    generatedAt: new Date().toISOString(),
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  writeJsonAtomic(opts.out, report);
  for (const key of ['centred', 'aligned', 'fixedCrop', 'dlibChip'] as const) {
    const v: VariantResult = result[key];
    const k = v.kfold;
    const folds = v.complete ? 'all 10 folds' : `PARTIAL: folds ${v.foldsEvaluated.join(',') || 'none'}`;
    if (!k) log(`${key}: not enough complete folds to evaluate (${folds})`);
    else {
      log(
        `${key} (${folds}, ${k.pairs} pairs): accuracy ${(100 * k.accuracy.mean).toFixed(2)} +- ${(100 * k.accuracy.std).toFixed(2)}%` +
          ` (published ${(100 * PUBLISHED_ACCURACY).toFixed(2)}%), AUC ${k.aucAll.toFixed(4)}, threshold ${k.threshold.mean.toFixed(4)},` +
          ` TAR@FAR=1e-2 ${(100 * (k.tarAtFar[0]?.tar.mean ?? NaN)).toFixed(2)}%, TAR@FAR=1e-3 ${(100 * k.val.tar.mean).toFixed(2)}%;` +
          ` brute-force cross-check ${(100 * (v.crossCheck?.accuracyMean ?? NaN)).toFixed(2)}%; at dlib's 0.6 ${(100 * (v.atDlibThreshold?.accuracy ?? NaN)).toFixed(2)}%`,
      );
    }
  }
  log(`centred: detection failed on ${result.centred.detection.detectionFailed} images (${result.centred.detection.pairsWithAFailedImage} pairs); wrote ${opts.out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});
