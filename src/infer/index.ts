// Using a trained model: load an exported model directory, embed a user's images with the training's
// preprocessing, verify pairs, identify against a gallery, evaluate a user's own pairs. No Temporal here.
export { InputError } from './errors';
export { loadFaceModel, readSidecar, SUPPORTED_FORMAT, type FaceModel } from './model';
export { embedFiles, listImages, prepareImage, inputBatch, IMAGE_EXTENSIONS, type EmbeddedFiles, type PreparedImage } from './images';
export { decisionThreshold, distanceOf, verifyFiles, type Verification } from './verify';
export { enroll, identify, readGallery, saveGallery, GALLERY_FORMAT, type Gallery, type GalleryImage, type Identification } from './gallery';
export { readPairsFile, evaluatePairs, type PairRow, type PairsEvaluation } from './pairs';
export { writePairsReport } from './report';
export { encodeNpy, writeEmbeddings, pathsFileOf } from './output';
export { makeSoup, type SoupOptions } from './soup';
