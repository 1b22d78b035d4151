// A model soup (Wortsman et al. 2022): the weights of several fine-tunes of one published model averaged into
// one network, which embeds as fast as each of them. Fine-tunes that start from the same weights stay close
// enough for their average to be a good network; networks trained from different random weights are not, and
// are refused. The soup's threshold is chosen on pairs the user gives, as `facenet evaluate` would.
import path from 'node:path';
import { SIDECAR_JSON, writeModelFiles, type FaceNetSidecar } from '../train/export';
import { averageAfterEpoch, type WeightAverage } from '../train/weight-average';
import { modelWeightsToArrays, setModelWeightsFromArrays } from '../train/weights';
import { exists, writeDirAtomic, writeFileDurable } from '../util/durable-fs';
import type { ThresholdCriterion } from '../eval';
import { InputError } from './errors';
import { loadFaceModel, type FaceModel } from './model';
import { evaluatePairs, readPairsFile, type PairsEvaluation } from './pairs';

/** What must be equal for weights to be averaged and the result fed and read as each ingredient is. */
const SAME_FIELDS = ['inputShape', 'embeddingDim', 'preprocess', 'distance', 'flipTTA', 'model'] as const;

/** Throws an InputError naming the folder when the models cannot be averaged into one. */
function checkIngredients(models: readonly FaceModel[]): void {
  const first = models[0];
  if (!first || models.length < 2) throw new InputError(`A soup needs at least two models, but got ${models.length}.`);
  if (first.sidecar.model.init === 'random' && !first.sidecar.model.initFrom) {
    throw new InputError(
      `${first.dir} was trained from random weights (model.init: random): networks from different random starts do not average into a good one. ` +
        'A soup is made of fine-tunes of one model (model.init: face-api-resnet34, or model.initFrom), e.g. the same config with other training.seed values.',
      first.dir,
    );
  }
  const shapes = (m: FaceModel) => m.model.weights.map((w) => w.shape.join('x')).join(',');
  for (const m of models.slice(1)) {
    for (const field of SAME_FIELDS) {
      const [a, b] = [JSON.stringify(first.sidecar[field] ?? null), JSON.stringify(m.sidecar[field] ?? null)];
      if (a !== b) throw new InputError(`${m.dir}: its facenet.json has ${field} ${b}, but ${first.dir} has ${a}; a soup's models come from one config.`, m.dir);
    }
    if (shapes(m) !== shapes(first)) throw new InputError(`${m.dir}: its weights have other shapes than those of ${first.dir}.`, m.dir);
  }
  if (new Set(models.map((m) => m.id)).size < models.length) throw new InputError('The same model is given twice: a soup averages different fine-tunes.');
}

/**
 * Sets the first model's weights to the element-wise mean of all the models' weights: the running mean of
 * training.averageWeights' uniform kind (stochastic weight averaging), over the models instead of epoch ends.
 */
function averageInto(models: readonly FaceModel[]): void {
  let average: WeightAverage | null = null;
  for (const [i, m] of models.entries()) average = averageAfterEpoch({ kind: 'uniform', fromEpoch: 1, decay: 0 }, i + 1, average, modelWeightsToArrays(m.model));
  if (average) setModelWeightsFromArrays((models[0] as FaceModel).model, average.weights, 'the soup');
}

export interface SoupOptions {
  pairsFile: string;
  imagesRoot: string;
  criterion: ThresholdCriterion;
  farTargets: readonly number[];
}

/**
 * Averages the models in `dirs` into a new exported model folder `out` (which must not exist), and chooses its
 * threshold on the pairs of `opts.pairsFile`. The folder appears whole, or not at all.
 */
export async function makeSoup(dirs: readonly string[], out: string, opts: SoupOptions): Promise<{ dir: string; evaluation: PairsEvaluation }> {
  const target = path.resolve(out);
  if (await exists(target)) throw new InputError(`--out ${out} already exists: remove it or name another folder.`, out);
  await readPairsFile(opts.pairsFile); // a bad pairs file fails before anything is loaded
  const models: FaceModel[] = [];
  try {
    for (const dir of dirs) models.push(await loadFaceModel(dir));
    checkIngredients(models);
    const first = models[0] as FaceModel;
    averageInto(models);
    const sidecar: FaceNetSidecar = {
      ...first.sidecar,
      threshold: null,
      thresholdFrom: null,
      metrics: {},
      evaluation: null,
      runId: null,
      epoch: null,
      checkpoint: null,
      soupOf: models.map((m) => ({ dir: m.dir, id: m.id, runId: m.sidecar.runId, epoch: m.sidecar.epoch })),
      createdAt: new Date().toISOString(),
    };
    let evaluation: PairsEvaluation | undefined;
    const dir = await writeDirAtomic(path.dirname(target), path.basename(target), async (tmp) => {
      await writeModelFiles(first.model, tmp, sidecar);
      const soup = await loadFaceModel(tmp);
      try {
        evaluation = await evaluatePairs(soup, opts.pairsFile, opts.imagesRoot, opts);
      } finally {
        soup.dispose();
      }
      const v = evaluation.verification;
      const chosen: FaceNetSidecar = {
        ...sidecar,
        threshold: v.threshold,
        thresholdFrom: `${path.resolve(opts.pairsFile)} (in-sample, ${v.criterion})`,
        metrics: { accuracy: v.accuracy, auc: v.auc, eer: v.eer, ...(evaluation.kfold ? { heldOutAccuracy: evaluation.kfold.accuracy.mean } : {}) },
      };
      await writeFileDurable(path.join(tmp, SIDECAR_JSON), JSON.stringify(chosen, null, 2));
    });
    return { dir, evaluation: evaluation as PairsEvaluation };
  } finally {
    for (const m of models) m.dispose();
  }
}
