#!/usr/bin/env python3
"""Scores several models of one test split as one: each image's L2-normalised embeddings from the given
evaluation files (runs/<id>/eval/epoch-NNNN.json, e.g. three seeds of one split) are concatenated and scaled by
1/sqrt(n), a unit vector again, and all pairs are scored with the distances between those. Prints, for each file
and for the ensemble: accuracy at Youden's threshold chosen on the pairs themselves (in-sample), accuracy with the
threshold chosen on the other 9 of 10 stratified folds (held-out, the folds as the pipeline deals them), and AUC.

  .tools/venv-eval/bin/python scripts/ensemble_eval.py results/att-cpu-intel/r3-s36-seed{0,1,2}.json
Needs numpy and scikit-learn (.ci/run installs them into .tools/venv-eval).
"""
import json
import sys

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from recompute_eval import stratified_folds


def youden_threshold(distances, same):
    """"Same" below the threshold: Youden's J on these pairs, halfway to the next larger distance."""
    fpr, tpr, thresholds = roc_curve(same, -distances)
    best = -thresholds[int(np.argmax(tpr - fpr))]
    above = distances[distances > best]
    return (best + above.min()) / 2 if above.size else best + 1e-9


def scores(distances, same):
    in_sample = np.mean((distances < youden_threshold(distances, same)) == same)
    folds = stratified_folds(same)
    held_out = []
    for k in np.unique(folds):
        test = folds == k
        t = youden_threshold(distances[~test], same[~test])
        held_out.append(np.mean((distances[test] < t) == same[test]))
    return in_sample, float(np.mean(held_out)), roc_auc_score(same, -distances)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    embeddings, same, identities = [], None, None
    for path in sys.argv[1:]:
        with open(path) as f:
            plot = json.load(f)["plotData"]
        if same is None:
            same, identities = np.asarray(plot["same"], dtype=bool), plot["identities"]
        elif plot["identities"] != identities or not np.array_equal(np.asarray(plot["same"], dtype=bool), same):
            sys.exit(f"{path}: not the same test images and pairs as {sys.argv[1]}")
        e = np.asarray(plot["embeddings"], dtype=np.float64).reshape(-1, plot["dim"])
        embeddings.append(e / np.linalg.norm(e, axis=1, keepdims=True))
        print(f"{path}: {'acc@Youden %.4f  held-out %.4f  AUC %.4f' % scores(np.asarray(plot['distances']), same)}")
    # The files' pairs are all unordered pairs of the test images, in image order.
    first, second = np.triu_indices(embeddings[0].shape[0], 1)
    joined = np.concatenate(embeddings, axis=1) / np.sqrt(len(embeddings))
    distances = np.linalg.norm(joined[first] - joined[second], axis=1)
    if len(distances) != len(same):
        sys.exit("the files' pairs are not all pairs of their images")
    print(f"ensemble of {len(embeddings)}: {'acc@Youden %.4f  held-out %.4f  AUC %.4f' % scores(distances, same)}")


if __name__ == "__main__":
    main()
