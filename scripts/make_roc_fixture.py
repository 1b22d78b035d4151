#!/usr/bin/env python3
"""Writes tests/fixtures/roc-fixture.json: seeded distance/label sets and the verification metrics
computed independently with scikit-learn and numpy, so tests/unit/eval-sklearn-fixture.test.ts can
check src/eval without Python.

Run once (needs numpy, scipy, scikit-learn):  python3 scripts/make_roc_fixture.py

Conventions shared with src/eval: "same" when distance < threshold; sklearn sees score = -distance;
a point's threshold is the midpoint a/2 + b/2 between adjacent distinct distances, and the two
outer thresholds sit half the mean gap below the smallest and above the largest distance.
"""
import json
import os

import numpy as np
import sklearn
from scipy.optimize import brentq
from sklearn.metrics import roc_auc_score, roc_curve

FAR_TARGETS = [1e-1, 1e-2, 1e-3]
OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'roc-fixture.json')


def make_set(rng, n_pos, n_neg, pos_mean, neg_mean, sd, decimals):
    """Normal distances, clipped at 0 and rounded so that ties (also across classes) occur."""
    d = np.concatenate([rng.normal(pos_mean, sd, n_pos), rng.normal(neg_mean, sd, n_neg)])
    d = np.round(np.clip(d, 0, None), decimals)
    y = np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])
    order = rng.permutation(len(d))
    return d[order], y[order]


def point_thresholds(distinct):
    k = len(distinct)
    margin = (distinct[-1] - distinct[0]) / (2 * (k - 1)) if k > 1 else 0.5
    mids = [a / 2 + b / 2 for a, b in zip(distinct[:-1], distinct[1:])]
    return [distinct[0] - margin] + mids + [distinct[-1] + margin]


def exact_roc(d, y):
    fpr, tpr, thr = roc_curve(y, -d, drop_intermediate=False)
    distinct = -thr[1:]  # thr[0] is +inf, the "accept nothing" point
    assert np.array_equal(distinct, np.unique(d))
    return fpr, tpr, distinct, np.array(point_thresholds(distinct))


def mann_whitney(d, y):
    pos, neg = d[y], d[~y]
    diff = neg[None, :] - pos[:, None]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def eer(fpr, tpr, point_thr):
    # Independent value: root of FRR(x) - x on the piecewise-linear ROC, by Brent's method.
    value = brentq(lambda x: 1.0 - x - np.interp(x, fpr, tpr), 0.0, 1.0, xtol=1e-15, rtol=1e-15)
    # Threshold: interpolate along the segment where FRR - FAR changes sign.
    g = 1.0 - tpr - fpr
    i = int(np.argmax(g <= 0))
    alpha = g[i - 1] / (g[i - 1] - g[i])
    return value, float(point_thr[i - 1] + alpha * (point_thr[i] - point_thr[i - 1]))


def tar_at_far(fpr, tpr, point_thr, target, d, y):
    exact = np.nonzero(fpr == target)[0]
    if len(exact):
        j = exact[-1]
        tar, threshold = float(tpr[j]), float(point_thr[j])
    else:  # fpr has no duplicate equal to target here, so np.interp picks the segment unambiguously
        tar, threshold = float(np.interp(target, fpr, tpr)), float(np.interp(target, fpr, point_thr))
    accepted = d < threshold
    return {
        'farTarget': target,
        'tar': tar,
        'threshold': threshold,
        'far': float(np.mean(accepted[~y])),
        'measuredTar': float(np.mean(accepted[y])),
        'belowResolution': bool(target < 1 / np.sum(~y)),
    }


def best_threshold(d, y, point_thr, criterion):
    # Brute force: apply every candidate threshold to the raw data; first maximum wins.
    scores = []
    for t in point_thr:
        acc = d < t
        if criterion == 'accuracy':
            scores.append(int(np.sum(acc == y)))
        else:
            scores.append(np.sum(acc[y]) * np.sum(~y) - np.sum(acc[~y]) * np.sum(y))
    i = int(np.argmax(scores))
    t = float(point_thr[i])
    return t, float(np.mean((d < t) == y))


def single_case(name, d, y):
    fpr, tpr, distinct, point_thr = exact_roc(d, y)
    eer_value, eer_threshold = eer(fpr, tpr, point_thr)
    acc_t, acc = best_threshold(d, y, point_thr, 'accuracy')
    you_t, you_acc = best_threshold(d, y, point_thr, 'youden')
    return {
        'name': name,
        'distances': d.tolist(),
        'labels': y.tolist(),
        'expected': {
            'positives': int(np.sum(y)),
            'negatives': int(np.sum(~y)),
            'auc': float(roc_auc_score(y, -d)),
            'aucMannWhitney': mann_whitney(d, y),
            'far': fpr.tolist(),
            'tar': tpr.tolist(),
            'distinctDistances': distinct.tolist(),
            'thresholds': point_thr.tolist(),
            'eer': eer_value,
            'eerThreshold': eer_threshold,
            'tarAtFar': [tar_at_far(fpr, tpr, point_thr, f, d, y) for f in FAR_TARGETS],
            'bestAccuracyThreshold': acc_t,
            'bestAccuracy': acc,
            'youdenThreshold': you_t,
            'youdenAccuracy': you_acc,
        },
    }


def kfold_case(name, d, y, folds):
    rows = []
    for f in range(10):
        tr, te = folds != f, folds == f
        fpr, tpr, _, point_thr = exact_roc(d[tr], y[tr])
        t, train_acc = best_threshold(d[tr], y[tr], point_thr, 'accuracy')
        far_rows = []
        for target in FAR_TARGETS:
            ft = tar_at_far(fpr, tpr, point_thr, target, d[tr], y[tr])
            accepted = d[te] < ft['threshold']
            far_rows.append({
                'farTarget': target,
                'threshold': ft['threshold'],
                'tar': float(np.mean(accepted[y[te]])),
                'far': float(np.mean(accepted[~y[te]])),
                'belowResolution': ft['belowResolution'],
            })
        rows.append({
            'fold': f,
            'threshold': t,
            'trainAccuracy': train_acc,
            'accuracy': float(np.mean((d[te] < t) == y[te])),
            'auc': float(roc_auc_score(y[te], -d[te])),
            'tarAtFar': far_rows,
        })
    acc = np.array([r['accuracy'] for r in rows])
    auc = np.array([r['auc'] for r in rows])
    thr = np.array([r['threshold'] for r in rows])
    summary = []
    for k, target in enumerate(FAR_TARGETS):
        tars = np.array([r['tarAtFar'][k]['tar'] for r in rows])
        fars = np.array([r['tarAtFar'][k]['far'] for r in rows])
        summary.append({'farTarget': target, 'tarMean': float(tars.mean()), 'tarStd': float(tars.std()),
                        'farMean': float(fars.mean()), 'farStd': float(fars.std())})
    return {
        'name': name,
        'distances': d.tolist(),
        'labels': y.tolist(),
        'folds': folds.tolist(),
        'expected': {
            'accuracyMean': float(acc.mean()), 'accuracyStd': float(acc.std()),  # numpy std: population
            'aucMean': float(auc.mean()), 'aucStd': float(auc.std()),
            'aucAll': float(roc_auc_score(y, -d)),
            'thresholdMean': float(thr.mean()), 'thresholdStd': float(thr.std()),
            'tarAtFar': summary,
            'perFold': rows,
        },
    }


def main():
    rng = np.random.default_rng(20261128)
    cases = [
        single_case('400 pairs, balanced, 2-decimal ties', *make_set(rng, 200, 200, 0.8, 1.3, 0.25, 2)),
        single_case('387 pairs, imbalanced, 3-decimal ties', *make_set(rng, 150, 237, 0.9, 1.25, 0.3, 3)),
        single_case('60 pairs, three distinct distances', *make_set(rng, 25, 35, 0.8, 1.3, 0.5, 0)),
    ]
    # heavy ties: distances on a 0.5 grid
    d, y = make_set(rng, 30, 30, 1.0, 1.6, 0.5, 1)
    cases.append(single_case('60 pairs on a 0.5 grid', np.round(d * 2) / 2, y))

    # LFW-like protocol: 10 folds of 30 same + 30 different pairs, fold = position // 60
    parts = [make_set(rng, 30, 30, 0.85, 1.25, 0.25, 3) for _ in range(10)]
    kd = np.concatenate([p[0] for p in parts])
    ky = np.concatenate([p[1] for p in parts])
    kf = np.repeat(np.arange(10), 60)
    fixture = {
        'generator': 'scripts/make_roc_fixture.py',
        'versions': {'numpy': np.__version__, 'sklearn': sklearn.__version__},
        'farTargets': FAR_TARGETS,
        'cases': cases,
        'kfold': kfold_case('600 pairs in 10 folds', kd, ky, kf),
    }
    with open(OUT, 'w') as f:
        json.dump(fixture, f, allow_nan=False, separators=(',', ':'))
        f.write('\n')
    print('wrote', os.path.normpath(OUT), os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
