// Does per-image alignment help face-api's published descriptor on AT&T? The untrained net's descriptor of each
// image three ways: the fixed face box of configs/att-faceapi.yml; face-api's own aligned box (TinyFaceDetector,
// then SSD, then TinyFaceDetector at a low score; 68 landmarks; useDlibAlignment); dlib's rotated chip from the
// same landmarks. Images without a detected face keep the fixed box. Scored on all pairs of the yardstick's four
// test splits (acc @ Youden, in-sample / AUC), as docs/fine-tune.md reports.
//   npx tsx scripts/att-faceapi-alignment.ts      (about 5 minutes on one core; wasm)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadFaceApi } from './validate-published/face-api';
import { describeCrop, describeDetectedFace, type DetectorSpec, type RgbImage } from './validate-published/describe';
import { decodePgm } from '../src/data/pgm';
import { evaluateVerification } from '../src/eval';

const SPLITS = [[36, 37, 38, 39, 40], [3, 4, 22, 28, 32], [1, 3, 10, 15, 28], [5, 10, 17, 28, 30]];
const FIXED_BOX = { x: 0, y: 24, width: 88, height: 88 }; // att-faceapi.yml's preprocess.crop
const VARIANTS = ['fixed box', 'face-api box', 'dlib chip'] as const;

async function main() {
  const faceapi = await loadFaceApi({ backend: 'wasm' });
  const detectors: DetectorSpec[] = [{ kind: 'tiny', inputSize: 320, scoreThreshold: 0.5 }, { kind: 'ssd', minConfidence: 0.3 }, { kind: 'tiny', inputSize: 320, scoreThreshold: 0.1 }];
  const root = path.join(process.env.FACENET_DATASETS_DIR ?? path.join(__dirname, '..', '..', 'shared', 'datasets'), 'att_faces');
  const descriptors = new Map<string, Record<(typeof VARIANTS)[number], Float32Array>>();
  let detected = 0;
  for (const s of new Set(SPLITS.flat())) for (let i = 1; i <= 10; i++) {
    const g = decodePgm(readFileSync(path.join(root, `s${s}`, `${i}.pgm`)), `s${s}/${i}`);
    const rgb = new Uint8Array(g.width * g.height * 3);
    for (let p = 0; p < g.width * g.height; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g.data[p]!;
    const img: RgbImage = { data: rgb, width: g.width, height: g.height };
    const t = tf.tensor3d(Int32Array.from(rgb), [g.height, g.width, 3], 'int32');
    const fixed = await describeCrop(faceapi, t, FIXED_BOX);
    const box = await describeDetectedFace(faceapi, t, detectors);
    const chip = await describeDetectedFace(faceapi, t, detectors, { chipFrom: img, dlibChip: true });
    t.dispose();
    if (box && chip) detected++;
    descriptors.set(`s${s}/${i}`, { 'fixed box': fixed, 'face-api box': box?.descriptor ?? fixed, 'dlib chip': chip?.descriptor ?? fixed });
  }
  console.log(`${detected} of ${descriptors.size} images with a detected face; the others keep the fixed box`);
  for (const variant of VARIANTS) {
    const cells = SPLITS.map((split) => {
      const keys = split.flatMap((s) => Array.from({ length: 10 }, (_, i) => `s${s}/${i + 1}`));
      const distances: number[] = [];
      const same: boolean[] = [];
      for (let a = 0; a < keys.length; a++) for (let b = a + 1; b < keys.length; b++) {
        const x = descriptors.get(keys[a]!)![variant];
        const y = descriptors.get(keys[b]!)![variant];
        distances.push(Math.sqrt(x.reduce((sum, v, j) => sum + (v - y[j]!) ** 2, 0)));
        same.push(keys[a]!.split('/')[0] === keys[b]!.split('/')[0]);
      }
      const r = evaluateVerification(distances, same, { criterion: 'youden', farTargets: [] });
      return { acc: r.youdenAccuracy, auc: r.auc };
    });
    const mean = (k: 'acc' | 'auc') => cells.reduce((s, c) => s + c[k], 0) / cells.length;
    console.log(`${variant.padEnd(13)} ${cells.map((c) => `${c.acc.toFixed(3)} / ${c.auc.toFixed(4)}`).join(' | ')} | mean ${mean('acc').toFixed(3)} / ${mean('auc').toFixed(4)}`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
