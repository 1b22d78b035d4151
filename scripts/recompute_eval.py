#!/usr/bin/env python3
"""Recomputes the figures of an evaluation file (runs/<id>/eval/epoch-NNNN.json) with scikit-learn from the
pair distances it saves, and fails when one differs from what the pipeline wrote:
- in-sample: AUC (roc_auc_score on -distance) and the accuracy at the saved threshold ("same" when distance < it);
- held out: each fold's accuracy at the threshold chosen on the other folds (the folds are rebuilt here: the
  protocol's folds, or same-person and different-person pairs each dealt round-robin into k folds);
- LFW View 2 (when saved): the same per fold, and the AUC of all its pairs.
The JSON of `facenet evaluate` (pairs, distances and folds at its top level) is checked the same way.

  python3 scripts/recompute_eval.py runs/att-cpu/eval/epoch-0060.json [more files...]
Needs numpy and scikit-learn (.ci/run installs them into .tools/venv-eval).
"""
import json
import sys

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

TOL = 1e-9


def stratified_folds(same, k=10):
    same = np.asarray(same, dtype=bool)
    k = min(k, int(same.sum()), int((~same).sum()))
    folds = np.empty(len(same), dtype=int)
    folds[same] = np.arange(same.sum()) % k
    folds[~same] = np.arange((~same).sum()) % k
    return folds


def check(name, ours, theirs, problems):
    ok = abs(ours - theirs) <= TOL
    print(f"  {name:<40} pipeline {ours:.12f}  scikit-learn {theirs:.12f}  {'ok' if ok else 'DIFFERS'}")
    if not ok:
        problems.append(name)


def check_folds(label, distances, same, folds, report, problems):
    for row in report["perFold"]:
        test = folds == row["fold"]
        predicted = distances[test] < row["threshold"]
        check(f"{label} fold {row['fold']} accuracy", row["accuracy"], accuracy_score(same[test], predicted), problems)
    check(f"{label} accuracy (mean)", report["accuracy"]["mean"], float(np.mean([r["accuracy"] for r in report["perFold"]])), problems)
    check(f"{label} AUC (all pairs)", report["aucAll"], roc_auc_score(same, -distances), problems)


def recompute_pairs(path, ev):
    """The output of `facenet evaluate` (src/infer/pairs.ts): distances, labels and folds at the top level."""
    problems = []
    print(f"{path}: facenet evaluate of {ev['model']['dir']} on {ev['pairsFile']}")
    distances = np.asarray(ev["distances"], dtype=np.float64)
    same = np.asarray(ev["same"], dtype=bool)
    v = ev["verification"]
    check("in-sample AUC", v["auc"], roc_auc_score(same, -distances), problems)
    check(f"in-sample accuracy at {v['threshold']:.6f}", v["accuracy"], accuracy_score(same, distances < v["threshold"]), problems)
    if ev.get("kfold"):
        folds = stratified_folds(same) if ev["foldsFrom"] == "stratified" else np.asarray(ev["folds"])
        if ev["foldsFrom"] == "stratified" and not np.array_equal(folds, np.asarray(ev["folds"])):
            problems.append("stratified folds")
        check_folds(f"held-out ({ev['foldsFrom']} folds)", distances, same, folds, ev["kfold"], problems)
    return problems


def recompute(path):
    with open(path) as f:
        ev = json.load(f)
    if "pairsFile" in ev:
        return recompute_pairs(path, ev)
    problems = []
    print(f"{path} (epoch {ev['epoch']}): {ev['protocol']}")
    distances = np.asarray(ev["plotData"]["distances"], dtype=np.float64)
    same = np.asarray(ev["plotData"]["same"], dtype=bool)
    v = ev["verification"]
    check("in-sample AUC", v["auc"], roc_auc_score(same, -distances), problems)
    check(f"in-sample accuracy at {v['threshold']:.6f}", v["accuracy"], accuracy_score(same, distances < v["threshold"]), problems)
    if ev.get("heldOut"):
        check_folds("held-out", distances, same, stratified_folds(same), ev["heldOut"], problems)
    if ev.get("view2Pairs") and ev.get("view2"):
        p = ev["view2Pairs"]
        check_folds("View 2", np.asarray(p["distances"]), np.asarray(p["same"], dtype=bool), np.asarray(p["folds"]), ev["view2"], problems)
    return problems


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    failed = {path: recompute(path) for path in sys.argv[1:]}
    failed = {p: names for p, names in failed.items() if names}
    if failed:
        sys.exit(f"figures that scikit-learn does not reproduce: {failed}")
    print("every figure reproduced by scikit-learn")


if __name__ == "__main__":
    main()
