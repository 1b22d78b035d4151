// Published and measured numbers a run is compared against, as report columns. Sources:
// /work/shared/reference/REFERENCE-FACTS.md (the PyTorch reference's own results) and
// PYTORCH-ANCHOR.md (the same work run with PyTorch on these 2-core machines).
import type { MetricColumn } from './types';

export const REFERENCE_ATT: MetricColumn = {
  label: 'Reference (published)',
  note: 'PyTorch Face-Unlock, AT&T: one unrecoverable 5-subject test split, all 2,450 ordered pairs, Youden threshold, 224x224 input, ~200 epochs.',
  metrics: { accuracy: 0.984, recall: 0.978, precision: 0.936, auc: 0.981, threshold: 0.89 },
};

export const PYTORCH_ANCHOR_ATT: MetricColumn = {
  label: 'PyTorch on these machines',
  note: 'AT&T native 112x92, widths 32-256, 100 epochs, mean ± sd over 4 subject-disjoint splits; accuracy at the best-accuracy threshold (0.924 ± 0.034 at Youden).',
  metrics: {
    accuracy: { mean: 0.943, std: 0.023 },
    auc: { mean: 0.969, std: 0.025 },
    eer: { mean: 0.089, std: 0.049 },
    tarAtFar: [{ far: 1e-2, tar: { mean: 0.67, std: 0.15 } }],
    secondsPerEpoch: 2.2,
  },
};

export const REFERENCE_LFW: MetricColumn = {
  label: 'Reference (published)',
  note: 'PyTorch Face-Unlock, LFW View 2 pairs.txt 10-fold, ImageNet-pretrained ResNet-18; its training people overlap the test pairs.',
  metrics: { accuracy: 0.8835, precision: 0.8846, recall: 0.8823, auc: 0.9508, threshold: 1.104, tarAtFar: [{ far: 1e-2, tar: 0.6107 }] },
};

export const PYTORCH_ANCHOR_LFW_VIEW1: MetricColumn = {
  label: 'PyTorch on these machines (View 1)',
  note: 'From scratch, narrow ResNet-18 (32-256), batch-all margin 0.2, 21 min (~16.7 epochs); pairsDevTest (people disjoint from training).',
  metrics: { accuracy: 0.863, auc: 0.94, eer: 0.14, tarAtFar: [{ far: 1e-2, tar: 0.52 }], imagesPerSecond: 88 },
};

export const PYTORCH_ANCHOR_LFW_VIEW2: MetricColumn = {
  label: 'PyTorch on these machines (View 2)',
  note: 'Same model as View 1, scored on pairs.txt 10-fold (inflated: 4,853 of 6,000 pairs involve training identities).',
  metrics: { accuracy: { mean: 0.918, std: 0.014 }, auc: 0.975, tarAtFar: [{ far: 1e-2, tar: 0.71 }], imagesPerSecond: 88 },
};

/** The comparison columns for a dataset (and LFW view). */
export function referenceColumns(dataset: 'att' | 'lfw', lfwView: 'view1' | 'view2' = 'view1'): MetricColumn[] {
  if (dataset === 'att') return [REFERENCE_ATT, PYTORCH_ANCHOR_ATT];
  return lfwView === 'view2' ? [REFERENCE_LFW, PYTORCH_ANCHOR_LFW_VIEW2] : [REFERENCE_LFW, PYTORCH_ANCHOR_LFW_VIEW1, PYTORCH_ANCHOR_LFW_VIEW2];
}
