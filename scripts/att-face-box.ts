// The box of preprocess.crop in configs/att-faceapi.yml: dlib's face chip where face-api's own landmarks put
// it (detector, 68 landmarks, chip.ts), median over every AT&T image; no identity labels are used.
//   npx tsx scripts/att-face-box.ts      (about 2 minutes on one core; wasm)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadFaceApi } from './validate-published/face-api';
import { describeDetectedFace, type DetectorSpec, type RgbImage } from './validate-published/describe';
import { decodePgm } from '../src/data/pgm';

async function main() {
  const faceapi = await loadFaceApi({ backend: 'wasm' });
  const detectors: DetectorSpec[] = [{ kind: 'tiny', inputSize: 320, scoreThreshold: 0.5 }, { kind: 'ssd', minConfidence: 0.3 }, { kind: 'tiny', inputSize: 320, scoreThreshold: 0.1 }];
  const xs: number[] = [], ys: number[] = [], sizes: number[] = [];
  let n = 0;
  for (let s = 1; s <= 40; s++) for (let i = 1; i <= 10; i++) {
    const g = decodePgm(readFileSync(`${process.env.FACENET_DATASETS_DIR ?? path.join(__dirname, '..', '..', 'shared', 'datasets')}/att_faces/s${s}/${i}.pgm`), `s${s}/${i}`);
    const rgb = new Uint8Array(g.width * g.height * 3);
    for (let p = 0; p < g.width * g.height; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g.data[p]!;
    const img: RgbImage = { data: rgb, width: g.width, height: g.height };
    const t = tf.tensor3d(Int32Array.from(rgb), [g.height, g.width, 3], 'int32');
    const r = await describeDetectedFace(faceapi, t, detectors, { chipFrom: img, dlibChip: true });
    t.dispose();
    n++;
    if (r?.chip) { xs.push(r.chip.centre.x); ys.push(r.chip.centre.y); sizes.push(r.chip.size); }
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const q = (a: number[], f: number) => [...a].sort((p, q2) => p - q2)[Math.floor(a.length * f)]!;
  console.log(JSON.stringify({ images: n, detected: xs.length, median: { x: med(xs), y: med(ys), size: med(sizes) }, q10: { x: q(xs, 0.1), y: q(ys, 0.1), size: q(sizes, 0.1) }, q90: { x: q(xs, 0.9), y: q(ys, 0.9), size: q(sizes, 0.9) } }));
}
main().catch((e) => { console.error(e); process.exit(1); });
