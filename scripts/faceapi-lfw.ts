// LFW pairsDevTest for models exported from att-faceapi runs (docs/fine-tune.md): the published face-api
// weights (an "untrained" run) and the same net after fine-tuning on 35 AT&T people, scored on 1,000 LFW pairs
// of people neither has trained on. Each model keeps its own normalisation and 150x150 input; only the face box
// is LFW's instead of AT&T's: the median of face-api's aligned boxes over LFW deep-funneled, x 68, y 79, side 112
// (docs/published-model.md), as `facenet evaluate` would cut it if the model had been trained on LFW framing.
// The images are LFW's colour photographs, or with --grey their greyscale copies (sharp's luma), given to the
// model as AT&T's were: grey copied to 3 channels.
//   npx tsx scripts/faceapi-lfw.ts [--grey] --out results/att-faceapi/lfw-devtest-untrained.json runs/<untrained run>/model
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../src/backend';
import { evaluationSchema } from '../src/config/schema';
import { evaluatePairs, loadFaceModel, readPairsFile, type PairsEvaluation } from '../src/infer';
import { writeJsonAtomic } from '../src/util/durable-fs';

const LFW_FACE_BOX = { top: 79, left: 68, height: 112, width: 112 };

async function main() {
  const program = new Command()
    .argument('<model-dir>', "an att-faceapi run's model/ folder")
    .requiredOption('--out <file>', 'where to write the evaluation (metrics, distances) as JSON')
    .option('--grey', 'score greyscale copies of the images')
    .option('--lfw <dir>', 'the LFW folder (pairsDevTest.txt, lfw-deepfunneled/)', path.join(__dirname, '..', '..', 'shared', 'datasets', 'lfw'))
    .parse();
  const [dir] = program.args as [string];
  const opts = program.opts<{ out: string; lfw: string; grey?: boolean }>();
  await initBackend('auto');
  const fm = await loadFaceModel(dir);
  const init = fm.sidecar.model.init;
  if (init !== 'face-api-resnet34') throw new Error(`${dir}: model.init is ${String(init)}; this script is for face-api-resnet34 models`);
  fm.sidecar.preprocess.crop = LFW_FACE_BOX;
  const pairsFile = path.join(opts.lfw, 'pairsDevTest.txt');
  let images = path.join(opts.lfw, 'lfw-deepfunneled');
  const greyDir = opts.grey ? mkdtempSync(path.join(tmpdir(), 'lfw-grey-')) : null;
  try {
    if (greyDir) {
      const files = new Set((await readPairsFile(pairsFile)).pairs.flatMap((p) => [p.a, p.b]));
      for (const f of files) {
        mkdirSync(path.dirname(path.join(greyDir, f)), { recursive: true });
        await sharp(readFileSync(path.join(images, f))).greyscale().png().toFile(path.join(greyDir, f));
      }
      images = greyDir;
    }
    const ev = await evaluatePairs(fm, pairsFile, images, { criterion: 'youden', farTargets: evaluationSchema.parse({}).farTargets });
    writeJsonAtomic(opts.out, { faceBox: LFW_FACE_BOX, grey: Boolean(opts.grey), ...ev, imagesRoot: path.join(opts.lfw, 'lfw-deepfunneled') });
    report(dir, ev);
  } finally {
    if (greyDir) rmSync(greyDir, { recursive: true, force: true });
  }
  fm.dispose();
}

function report(dir: string, ev: PairsEvaluation): void {
  const v = ev.verification;
  console.log(`${dir}: ${ev.images} images, acc@Youden ${v.youdenAccuracy.toFixed(4)} (in-sample), acc@best ${v.bestAccuracy.toFixed(4)}, AUC ${v.auc.toFixed(4)}, EER ${v.eer.toFixed(4)}`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
