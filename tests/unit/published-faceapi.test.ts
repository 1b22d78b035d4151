// face-api's published recognition net on three real LFW images through our loader (tfjs-core +
// wasm, no tfjs union package) and our crop code: a few seconds, skipped without the dataset or
// the devDependency.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

const projectRoot = path.resolve(__dirname, '../..');
const LFW = path.resolve(projectRoot, '../shared/datasets/lfw/lfw-deepfunneled');
const img = (name: string, n: number) => path.join(LFW, name, `${name}_${String(n).padStart(4, '0')}.jpg`);

function hasFaceApi(): boolean {
  try {
    require.resolve('@vladmandic/face-api/package.json');
    return true;
  } catch {
    return false;
  }
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += ((a[j] as number) - (b[j] as number)) ** 2;
  return Math.sqrt(s);
}

test('face-api descriptors: a matched LFW pair is within dlib 0.6, a mismatched one beyond', async (t) => {
  if (!existsSync(LFW)) return t.skip(`LFW not found at ${LFW}`);
  if (!hasFaceApi()) return t.skip('@vladmandic/face-api is not installed (devDependency): npm install');
  const { loadFaceApi } = await import('../../scripts/validate-published/face-api');
  const { describeDetectedFace, describeCrop, readRgb, rgbTensor } = await import('../../scripts/validate-published/describe');
  const faceapi = await loadFaceApi({ backend: 'wasm' });
  const detectors = [{ kind: 'tiny', inputSize: 320, scoreThreshold: 0.5 }] as const;
  const out: Array<{ box: { x: number; y: number; width: number; height: number }; descriptor: Float32Array }> = [];
  const chips: Float32Array[] = [];
  // pairs.txt fold 1: matched "Abel_Pacheco 1 4", mismatched "Abdel_Madi_Shabneh 1 Dean_Barker 1".
  // Boxes and distances measured on wasm (SIMD) with face-api 1.7.15; +-2 px / +-0.02 absorb float
  // differences between backends and CPUs (the box is floored from landmark positions).
  const expected = [
    { name: 'Abel_Pacheco', n: 1, box: { x: 69, y: 79, width: 109, height: 109 } },
    { name: 'Abel_Pacheco', n: 4, box: { x: 72, y: 80, width: 107, height: 107 } },
    { name: 'Dean_Barker', n: 1, box: { x: 68, y: 77, width: 115, height: 115 } },
  ];
  for (const { name, n, box } of expected) {
    const rgb = await readRgb(img(name, n));
    const image = rgbTensor(rgb);
    assert.deepEqual(image.shape, [250, 250, 3]);
    const d = await describeDetectedFace(faceapi, image, [...detectors]);
    assert.ok(d, `no face found in ${name} ${n}`);
    assert.equal(d.detector, 0);
    assert.equal(d.descriptor.length, 128);
    for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(d.box[k] - box[k]) <= 2, `${name} ${n}: ${JSON.stringify(d.box)}`);
    assert.equal(d.box.width, d.box.height); // face-api's dlib-alignment box is square
    // The same crop through describeCrop gives the same descriptor (the pipeline is deterministic).
    assert.ok(distance(await describeCrop(faceapi, image, d.box), d.descriptor) < 1e-5);
    // dlib's chip from the same landmarks: level eyes, 4.65% larger than face-api's (floored) box.
    const c = await describeDetectedFace(faceapi, image, [...detectors], { chipFrom: rgb, dlibChip: true });
    assert.ok(c?.chip);
    assert.ok(Math.abs(c.chip.size - 1.0465 * d.box.width) < 3, `chip ${c.chip.size} vs box ${d.box.width}`);
    assert.ok(Math.abs(c.chip.angle) < 0.1); // deep-funneled faces are already nearly level
    chips.push(c.descriptor);
    image.dispose();
    out.push(d);
  }
  const same = distance(out[0]!.descriptor, out[1]!.descriptor);
  const diff = distance(out[0]!.descriptor, out[2]!.descriptor);
  // dlib's own decision threshold is 0.6.
  assert.ok(Math.abs(same - 0.531) < 0.02, `matched pair at ${same}, expected 0.531`);
  assert.ok(Math.abs(diff - 0.772) < 0.02, `mismatched pair at ${diff}, expected 0.772`);
  assert.ok(distance(chips[0]!, chips[1]!) < 0.6 && distance(chips[0]!, chips[2]!) > 0.6);
  assert.ok(tf.memory().numTensors < 400, `${tf.memory().numTensors} tensors alive: a leak`);
});
