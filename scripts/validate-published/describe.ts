// One image through face-api's own recognition pipeline: TinyFaceDetector -> 68 landmarks ->
// face-api's "dlib alignment" box (an axis-aligned square from the eye and mouth centres, no
// rotation) -> 150x150 -> 128-d descriptor. The same steps as face-api's
// detectSingleFace().withFaceLandmarks().withFaceDescriptor(), except that the face kept is the one
// nearest the image centre (LFW's labelled person), not the highest-scoring one.
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { FaceApi } from './face-api';
import { clipToImage, isCentred, pickCentralFace, type PixelBox } from './crop';
import { chipFromLandmarks, sampleChip, type ChipSpec, type Point } from './chip';

export const DESCRIPTOR_DIM = 128;

/** A face-api detector and its settings. */
export type DetectorSpec =
  /** TinyFaceDetector: inputSize a multiple of 32 (320 on 250x250 LFW images), scoreThreshold in (0, 1). */
  | { kind: 'tiny'; inputSize: number; scoreThreshold: number }
  /** SSD MobileNet v1 (face-api's default): ~5x slower on wasm, finds some faces the tiny one misses. */
  | { kind: 'ssd'; minConfidence: number };

export function describeDetector(d: DetectorSpec): string {
  return d.kind === 'tiny' ? `TinyFaceDetector(inputSize ${d.inputSize}, scoreThreshold ${d.scoreThreshold})` : `SsdMobilenetv1(minConfidence ${d.minConfidence})`;
}

export interface FaceDescription {
  box: PixelBox;
  descriptor: Float32Array;
  score: number;
  /** Index of the detector (in the list given) that found the face. */
  detector: number;
  /** The rotation-normalised chip (when asked for): the descriptor is then of this chip. */
  chip?: ChipSpec;
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes any image sharp reads to interleaved 8-bit RGB. */
export async function readRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected RGB`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

export function rgbTensor(img: RgbImage): tf.Tensor3D {
  return tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32');
}

/** The 128-d descriptor of a rotation-normalised 150x150 chip sampled from the RGB pixels. */
export async function describeChip(faceapi: FaceApi, img: RgbImage, chip: ChipSpec): Promise<Float32Array> {
  const pixels = sampleChip(img.data, img.width, img.height, 3, chip, CHIP_SIZE);
  const face = tf.tensor3d(pixels, [CHIP_SIZE, CHIP_SIZE, 3], 'float32');
  try {
    return Float32Array.from((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face)) as Float32Array);
  } finally {
    face.dispose();
  }
}

/** The recognition net's input side. */
export const CHIP_SIZE = 150;

/** Decodes any image sharp reads to an int32 [height, width, 3] RGB tensor (what face-api takes). */
export async function readRgbTensor(file: string): Promise<tf.Tensor3D> {
  return rgbTensor(await readRgb(file));
}

/** The 128-d descriptor of a fixed crop (clipped to the image); face-api pads it square and resizes to 150x150. */
export async function describeCrop(faceapi: FaceApi, image: tf.Tensor3D, box: PixelBox): Promise<Float32Array> {
  const [h, w] = image.shape;
  const clipped = clipToImage(box, w, h);
  if (clipped.width === 0 || clipped.height === 0) throw new Error(`crop ${JSON.stringify(box)} lies outside the ${w}x${h} image`);
  const [face] = (await faceapi.extractFaceTensors(image, [new faceapi.Rect(clipped.x, clipped.y, clipped.width, clipped.height)])) as tf.Tensor3D[];
  try {
    return Float32Array.from((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face)) as Float32Array);
  } finally {
    face?.dispose();
  }
}

export interface DescribeOptions {
  /** Describe the rotation-normalised chip sampled from these pixels (the same image) instead of face-api's box. */
  chipFrom?: RgbImage;
  /** Give that chip dlib's scale and centre (chip.ts DLIB_CHIP). */
  dlibChip?: boolean;
  /** Reject a face whose aligned crop centre is farther than this from the image centre (pixels): the next detector is tried. */
  maxCentreOffset?: number;
}

/**
 * Detect -> landmarks -> aligned box -> descriptor, trying the detectors in order until one finds a
 * face; undefined when none does. With `chipFrom` (the same image's pixels), the descriptor is of
 * the rotation-normalised chip (chip.ts) instead of face-api's axis-aligned box; `dlibChip` also
 * gives that chip dlib's scale and centre.
 */
export async function describeDetectedFace(
  faceapi: FaceApi,
  image: tf.Tensor3D,
  detectors: readonly DetectorSpec[],
  opts: DescribeOptions = {},
): Promise<FaceDescription | undefined> {
  for (let k = 0; k < detectors.length; k++) {
    const found = await describeWith(faceapi, image, detectors[k] as DetectorSpec, opts);
    if (found) return { ...found, detector: k };
  }
  return undefined;
}

async function describeWith(
  faceapi: FaceApi,
  image: tf.Tensor3D,
  spec: DetectorSpec,
  opts: DescribeOptions,
): Promise<Omit<FaceDescription, 'detector'> | undefined> {
  const [h, w] = image.shape;
  const detectorOptions =
    spec.kind === 'tiny'
      ? new faceapi.TinyFaceDetectorOptions({ inputSize: spec.inputSize, scoreThreshold: spec.scoreThreshold })
      : new faceapi.SsdMobilenetv1Options({ minConfidence: spec.minConfidence });
  // Landmarks for every face (cheap, ~25 ms each) so the choice is made on face-api's own results.
  const results = (await faceapi.detectAllFaces(image, detectorOptions).withFaceLandmarks()) as Array<{
    detection: { score: number; box: PixelBox };
    landmarks: {
      align: (d: null, o: { useDlibAlignment: boolean }) => PixelBox;
      getLeftEye: () => Point[];
      getRightEye: () => Point[];
      getMouth: () => Point[];
    };
  }>;
  const central = pickCentralFace(
    results.map((r, i) => ({ ...pick(r.detection.box), score: r.detection.score, i })),
    w,
    h,
  );
  if (!central) return undefined;
  const chosen = results[central.i] as (typeof results)[number];
  const aligned = pick(chosen.landmarks.align(null, { useDlibAlignment: true }));
  if (opts.maxCentreOffset !== undefined && !isCentred(aligned, w, h, opts.maxCentreOffset)) return undefined;
  if (opts.chipFrom) {
    const lm = chosen.landmarks;
    const chip = chipFromLandmarks(centroid(lm.getLeftEye()), centroid(lm.getRightEye()), centroid(lm.getMouth()), { dlib: opts.dlibChip ?? false });
    return { box: aligned, descriptor: await describeChip(faceapi, opts.chipFrom, chip), score: central.score, chip };
  }
  return { box: aligned, descriptor: await describeCrop(faceapi, image, aligned), score: central.score };
}

function centroid(points: readonly Point[]): Point {
  const n = points.length;
  return { x: points.reduce((s, p) => s + p.x, 0) / n, y: points.reduce((s, p) => s + p.y, 0) / n };
}

function pick(b: PixelBox): PixelBox {
  return { x: b.x, y: b.y, width: b.width, height: b.height };
}
