// The commands that use a trained model (no Temporal): embed, verify, enroll, identify, evaluate, soup.
// Exit codes: 0 = done (verify: same person; identify: someone recognised), 1 = verify: different people,
// identify: unknown; 2 = bad input (an unreadable image, a model directory of another format, a gallery of
// another model, a backend that is not installed...), with a message naming the file; 3 = any other failure,
// so that a crash is never read as "different people".
import path from 'node:path';
import type { Command } from 'commander';
import { BackendUnavailableError, initBackend } from '../src/backend';
import { BACKENDS, evaluationSchema, type BackendName } from '../src/config/schema';
import { THRESHOLD_CRITERIA, type ThresholdCriterion } from '../src/eval';
import { BadInputError } from '../src/errors';
import {
  decisionThreshold,
  embedFiles,
  enroll,
  evaluatePairs,
  identify,
  InputError,
  listImages,
  loadFaceModel,
  makeSoup,
  verifyFiles,
  writeEmbeddings,
  writePairsReport,
  type FaceModel,
  type PairsEvaluation,
} from '../src/infer';
import { writeJsonAtomic } from '../src/util/durable-fs';

export const EXIT_BAD_INPUT = 2;
export const EXIT_FAILURE = 3;

interface Common {
  backend: string;
}

/** Notes on images that needed more than the training preprocessing: a few lines on stderr. */
function printNotes(notes: Array<{ file: string; note: string }>): void {
  for (const n of notes.slice(0, 3)) console.error(`note: ${n.file}: ${n.note}`);
  if (notes.length > 3) console.error(`note: ... and ${notes.length - 3} more images like these`);
}

/**
 * Checks the options (`precheck`, before anything slow), loads the backend and the model, runs `fn` and exits
 * with its code; bad input is reported with code 2, any other failure with code 3.
 */
async function withModel(dir: string, opts: Common, fn: (fm: FaceModel) => Promise<number>, precheck?: () => void): Promise<void> {
  await withBackend(
    opts,
    async () => {
      const fm = await loadFaceModel(dir);
      try {
        return await fn(fm);
      } finally {
        fm.dispose();
      }
    },
    precheck,
  );
}

/** As withModel, for a command that loads its models itself. */
async function withBackend(opts: Common, fn: () => Promise<number>, precheck?: () => void): Promise<void> {
  let code: number;
  try {
    precheck?.();
    // The native TensorFlow library logs its start-up (oneDNN, CUDA factories) on stderr at every command;
    // failures still reach us as exceptions. Set TF_CPP_MIN_LOG_LEVEL yourself to see them.
    process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '3';
    if (!(BACKENDS as readonly string[]).includes(opts.backend)) throw new InputError(`--backend ${opts.backend}: choose one of ${BACKENDS.join(', ')}`);
    await initBackend(opts.backend as BackendName);
    code = await fn();
  } catch (err) {
    const bad = err instanceof BadInputError || err instanceof BackendUnavailableError;
    console.error(bad ? `error: ${(err as Error).message}` : err);
    code = bad ? EXIT_BAD_INPUT : EXIT_FAILURE;
  }
  process.exitCode = code;
}

function thresholdOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Number(text);
  if (text.trim() === '' || !Number.isFinite(t)) throw new InputError(`--threshold ${text}: give a number`);
  return t;
}

function checkThresholdRule(rule: string): void {
  if (!(THRESHOLD_CRITERIA as readonly string[]).includes(rule)) throw new InputError(`--threshold-rule ${rule}: choose ${THRESHOLD_CRITERIA.join(' or ')}`);
}

function fmt(x: number, digits = 4): string {
  return x.toFixed(digits);
}

function evaluationTable(r: PairsEvaluation): string {
  const v = r.verification;
  const lines = [
    `pairs          ${v.pairs} (${v.positives} same, ${v.negatives} different), ${r.images} images, ${r.format} format`,
    `AUC            ${fmt(v.auc)}`,
    `EER            ${fmt(v.eer)} (threshold ${fmt(v.eerThreshold)})`,
    `accuracy       ${fmt(v.accuracy)} at threshold ${fmt(v.threshold)} (chosen on these pairs by ${v.criterion})`,
  ];
  if (r.kfold) {
    const k = r.kfold;
    lines.push(`k-fold acc.    ${fmt(k.accuracy.mean)} ± ${fmt(k.accuracy.std)} over ${k.folds} folds${r.foldsFrom === 'file' ? " (the file's)" : ' of these pairs'} (threshold ${fmt(k.threshold.mean)} ± ${fmt(k.threshold.std)}, chosen on the other folds)`);
  }
  if (r.atModelThreshold) {
    const m = r.atModelThreshold;
    lines.push(`model's thr.   accuracy ${fmt(m.accuracy)}, TAR ${fmt(m.tar)}, FAR ${fmt(m.far)} at the model's threshold ${fmt(m.threshold)}`);
  }
  for (const t of v.tarAtFar) lines.push(`TAR@FAR=${String(t.farTarget).padEnd(6)} ${fmt(t.tar)}`);
  return lines.join('\n');
}

/** Registers embed, verify, enroll, identify, evaluate and soup on the program. */
export function registerModelCommands(program: Command): void {
  const exitOnUsageError = (err: { code: string; exitCode: number }): never =>
    process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
  const backendOption = ['--backend <name>', `tfjs backend: ${BACKENDS.join(' | ')}`, process.env['FACENET_BACKEND'] ?? 'auto'] as const;

  program
    .command('embed <model-dir> <images...>')
    .description('embed image files (or every image in the folders given) with an exported model')
    .requiredOption('-o, --out <file>', 'embeddings.csv (path, e0..eN) or embeddings.npy (float32 [n, dim], row order in embeddings.paths.txt)')
    .option('--batch-size <n>', 'images per forward pass', '32')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dir: string, inputs: string[], opts: Common & { out: string; batchSize: string }) => {
      const batch = Number(opts.batchSize);
      const precheck = () => {
        const ext = path.extname(opts.out).toLowerCase();
        if (ext !== '.csv' && ext !== '.npy') throw new InputError(`--out ${opts.out}: write .csv or .npy`, opts.out);
        if (!Number.isInteger(batch) || batch < 1) throw new InputError(`--batch-size ${opts.batchSize}: give a positive integer`);
      };
      await withModel(
        dir,
        opts,
        async (fm) => {
          const files = await listImages(inputs);
          const { embeddings, dim, notes } = await embedFiles(fm, files, batch);
          printNotes(notes);
          const written = await writeEmbeddings(opts.out, files, embeddings, dim);
          console.log(`Embedded ${files.length} image${files.length === 1 ? '' : 's'} (${dim}-d): ${written.join(', ')}`);
          return 0;
        },
        precheck,
      );
    });

  program
    .command('verify <model-dir> <image-a> <image-b>')
    .description("are the two images the same person? Prints the distance and the model's threshold; exit 0 same, 1 different, 2 bad input")
    .option('--threshold <t>', "decision threshold instead of the model's own")
    .option('--json', 'print the result as JSON')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dir: string, a: string, b: string, opts: Common & { threshold?: string; json?: boolean }) => {
      let given: number | undefined;
      await withModel(dir, opts, async (fm) => {
        const threshold = decisionThreshold(fm, given);
        const r = await verifyFiles(fm, a, b, threshold);
        printNotes(r.notes);
        if (opts.json) {
          const { notes, ...rest } = r;
          console.log(JSON.stringify({ ...rest, verdict: r.same ? 'SAME' : 'DIFFERENT', notes, model: { dir: fm.dir, runId: fm.sidecar.runId, epoch: fm.sidecar.epoch } }, null, 2));
        } else {
          console.log(`${r.same ? 'SAME' : 'DIFFERENT'}: distance ${fmt(r.distance)} (${r.distanceKind}) ${r.same ? '<' : '>='} threshold ${fmt(r.threshold)}`);
        }
        return r.same ? 0 : 1;
      }, () => (given = thresholdOption(opts.threshold)));
    });

  program
    .command('enroll <model-dir> <person> <images...>')
    .description('add images of a person to a gallery file (created if missing; written whole or not at all)')
    .requiredOption('-g, --gallery <file>', 'gallery JSON file')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dir: string, person: string, inputs: string[], opts: Common & { gallery: string }) => {
      await withModel(dir, opts, async (fm) => {
        const files = await listImages(inputs);
        const { gallery, added, notes } = await enroll(fm, opts.gallery, person, files);
        printNotes(notes);
        const people = Object.keys(gallery.people);
        const images = people.reduce((s, p) => s + (gallery.people[p]?.length ?? 0), 0);
        console.log(`Enrolled ${added} image${added === 1 ? '' : 's'} of ${person} into ${opts.gallery} (${people.length} ${people.length === 1 ? 'person' : 'people'}, ${images} image${images === 1 ? '' : 's'}).`);
        return 0;
      });
    });

  program
    .command('identify <model-dir> <image>')
    .description('who is it? The enrolled person with the nearest image, or "unknown" when none is nearer than the threshold; exit 0 known, 1 unknown')
    .requiredOption('-g, --gallery <file>', 'gallery JSON file made by facenet enroll')
    .option('--threshold <t>', "decision threshold instead of the model's own")
    .option('--json', 'print the result as JSON')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dir: string, image: string, opts: Common & { gallery: string; threshold?: string; json?: boolean }) => {
      let given: number | undefined;
      await withModel(dir, opts, async (fm) => {
        const threshold = decisionThreshold(fm, given);
        const r = await identify(fm, opts.gallery, image, threshold);
        printNotes(r.notes);
        if (opts.json) console.log(JSON.stringify({ ...r, verdict: r.person ?? 'unknown' }, null, 2));
        else {
          const nearest = r.ranking[0];
          console.log(
            r.person
              ? `${r.person}: distance ${fmt(r.distance)} < threshold ${fmt(threshold)} (nearest image ${nearest?.image})`
              : `unknown: nearest is ${nearest?.person} at distance ${fmt(r.distance)} >= threshold ${fmt(threshold)}`,
          );
        }
        return r.person ? 0 : 1;
      }, () => (given = thresholdOption(opts.threshold)));
    });

  program
    .command('evaluate <model-dir>')
    .description("verification metrics of the model on your own pairs: LFW pairs.txt or a CSV a,b,same[,fold]")
    .requiredOption('--pairs <file>', 'pairs file (LFW pairs.txt format, or .csv with a,b,same[,fold])')
    .option('--images <dir>', 'folder the pairs\' image paths are relative to (LFW: the folder holding the person folders)', '.')
    .option('-o, --out <file>', 'where to write the metrics as JSON', 'evaluation.json')
    .option('--report <dir>', 'also write an HTML report with ROC, FAR/FRR and distance plots into this folder')
    .option('--threshold-rule <rule>', `how the threshold is chosen on the pairs: ${THRESHOLD_CRITERIA.join(' | ')}`, 'accuracy')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dir: string, opts: Common & { pairs: string; images: string; out: string; report?: string; thresholdRule: string }) => {
      await withModel(dir, opts, async (fm) => {
        const r = await evaluatePairs(fm, opts.pairs, opts.images, { criterion: opts.thresholdRule as ThresholdCriterion, farTargets: evaluationSchema.parse({}).farTargets });
        printNotes(r.notes);
        writeJsonAtomic(opts.out, r);
        console.log(evaluationTable(r));
        console.log(`Metrics: ${opts.out}`);
        if (opts.report) {
          const { reportPath, warnings } = await writePairsReport(opts.report, r);
          for (const w of warnings) console.error(`note: report: ${w}`);
          console.log(`Report: ${reportPath}`);
        }
        return 0;
      }, () => checkThresholdRule(opts.thresholdRule));
    });
  program
    .command('soup <model-dirs...>')
    .description('average the weights of fine-tunes of one model (e.g. the same config, other seeds) into one model; its threshold is chosen on --pairs')
    .requiredOption('-o, --out <dir>', 'the new model folder (must not exist)')
    .requiredOption('--pairs <file>', 'pairs that choose the threshold (LFW pairs.txt format, or .csv with a,b,same[,fold])')
    .option('--images <dir>', "folder the pairs' image paths are relative to", '.')
    .option('--threshold-rule <rule>', `how the threshold is chosen on the pairs: ${THRESHOLD_CRITERIA.join(' | ')}`, 'youden')
    .option(...backendOption)
    .exitOverride(exitOnUsageError)
    .action(async (dirs: string[], opts: Common & { out: string; pairs: string; images: string; thresholdRule: string }) => {
      await withBackend(
        opts,
        async () => {
          const { dir, evaluation } = await makeSoup(dirs, opts.out, {
            pairsFile: opts.pairs,
            imagesRoot: opts.images,
            criterion: opts.thresholdRule as ThresholdCriterion,
            farTargets: evaluationSchema.parse({}).farTargets,
          });
          printNotes(evaluation.notes);
          console.log(evaluationTable(evaluation));
          console.log(`Soup of ${dirs.length} models: ${dir} (threshold ${fmt(evaluation.verification.threshold)}, chosen on ${opts.pairs}: in-sample)`);
          return 0;
        },
        () => checkThresholdRule(opts.thresholdRule),
      );
    });
}
