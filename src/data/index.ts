// The dataset layer: sources (folder, archive, download), readers, preprocessing cache, splits, samplers, batches.
export { DatasetError } from './errors';
export { decodePgm, type GrayImage } from './pgm';
export { preprocessImage, centerCropOffset, type PixelOptions, type DecodedImage } from './image';
export { indexAtt } from './att';
export { indexLfw } from './lfw';
export {
  LFW_PROTOCOL_FILES,
  lfwImagePath,
  parsePairs,
  parsePeople,
  type LfwPair,
  type LfwPerson,
} from './lfw-protocol';
export { type DatasetIndex, type IndexEntry } from './dataset-index';
export { contentFingerprint, fingerprintCacheFile, type Fingerprint } from './fingerprint';
export { downloadFile, type DownloadOptions, type DownloadResult } from './download';
export { sha256File } from '../util/durable-fs';
export { extractArchive, extractZip, extractTgz } from './archive';
export { resolveSource, DATASET_SOURCES } from './source';
export {
  loadCachedDataset,
  verifyCache,
  readCacheManifest,
  cacheKey,
  CACHE_FORMAT,
  type CachedDataset,
  type CacheManifest,
} from './cache';
export { prepareDataset, pixelOptions, type PreparedDataset, type PrepareOptions } from './prepare';
export { resolveSplit, foldRange, type Split, type TestPair } from './split';
export { makeSampler, type Sampler } from './sampler';
export { assembleBatch, augmentationEnabled, computeNormalization, type Batch, type Normalization } from './batch';
