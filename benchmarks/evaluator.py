"""Benchmark of the ZSL/GZSL evaluator at NUS-WIDE scale.

Compares ``multilabel_zsl_metrics`` (one sort per class chunk + binary
search) with a per-class sort loop written as the reference code does it
and with sklearn's ``average_precision_score``, after asserting that all
agree (tie-free random floats). Prints time and peak memory as ratios.

Usage::

    python benchmarks/evaluator.py [--small]
"""
import argparse
import time
import tracemalloc

import numpy as np
from sklearn.metrics import average_precision_score

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics


def reference_loop(scores: np.ndarray, targets: np.ndarray, topk=(3, 5)):
    """mAP and micro P/R/F1@K as the reference ZSL code computes them."""
    aps = []
    for c in range(scores.shape[1]):
        valid = targets[:, c] != -1
        s, t = scores[valid, c], targets[valid, c]
        order = np.argsort(-s)
        hits = (t[order] == 1)
        if hits.sum() == 0:
            aps.append(0.0)
            continue
        prec = np.cumsum(hits) / np.arange(1, hits.size + 1)
        aps.append(float(prec[hits].sum() / hits.sum()))
    out = {'mAP': 100 * float(np.mean(aps))}
    n_gt = (targets == 1).sum()
    order = np.argsort(-scores, axis=1, kind='stable')  # lower index wins
    for k in topk:
        top = order[:, :k]
        tp = (np.take_along_axis(targets, top, axis=1) == 1).sum()
        p, r = tp / (scores.shape[0] * k), tp / n_gt
        out[f'F1@{k}'] = 100 * 2 * p * r / (p + r)
    return out, np.array(aps)


def measure(fn, *args):
    """Return (result, seconds, peak traced MiB) of ``fn(*args)``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    res = fn(*args)
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return res, sec, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--small', action='store_true',
                        help='10,000 x 200 instead of 107,859 x 1006')
    args = parser.parse_args()
    n, c = (10000, 200) if args.small else (107859, 1006)
    rng = np.random.default_rng(0)
    # Tie-free within each class (a permutation of k/n per column): the
    # reference and sklearn order ties differently from us.
    scores = (rng.permuted(np.tile(np.arange(n, dtype=np.float32), (c, 1)),
                           axis=1) / np.float32(n)).T.copy()
    targets = (rng.random((n, c)) < 0.02).astype(np.int8)
    print(f'{n} x {c}, {targets.mean():.2%} positives, float32 scores')

    ours, t_ours, m_ours = measure(
        lambda: multilabel_zsl_metrics(scores, targets, topk=(3, 5),
                                       return_per_class=True))
    (ref, ref_ap), t_ref, m_ref = measure(reference_loop, scores, targets)
    assert abs(ours['mAP'] - ref['mAP']) < 1e-6, (ours['mAP'], ref['mAP'])
    assert np.allclose(ours['per_class_AP'] / 100, ref_ap, atol=1e-9)
    for k in (3, 5):
        assert abs(ours[f'F1@{k}'] - ref[f'F1@{k}']) < 1e-9
    n_sk = min(c, 50)
    _, t_sk, m_sk = measure(lambda: [average_precision_score(
        targets[:, j], scores[:, j]) for j in range(n_sk)])
    sk = np.array([average_precision_score(targets[:, j], scores[:, j])
                   for j in range(n_sk)])
    assert np.allclose(sk, ref_ap[:n_sk], atol=1e-9)
    t_sk_full = t_sk * c / n_sk
    print('all implementations agree '
          f"(mAP {ours['mAP']:.4f}, F1@3 {ours['F1@3']:.4f})")
    print(f"{'impl':<28}{'time s':>9}{'peak MiB':>10}{'time/ours':>11}")
    print(f"{'ours (mAP+F1@3/5)':<28}{t_ours:>9.2f}{m_ours:>10.0f}"
          f"{1.0:>11.2f}")
    print(f"{'per-class loop (mAP+F1)':<28}{t_ref:>9.2f}{m_ref:>10.0f}"
          f'{t_ref / t_ours:>11.2f}')
    print(f"{'sklearn AP (extrapolated)':<28}{t_sk_full:>9.2f}{m_sk:>10.0f}"
          f'{t_sk_full / t_ours:>11.2f}')
    print(f'sklearn timed on {n_sk} classes; ratio loop/ours = '
          f'{t_ref / t_ours:.2f}x')


if __name__ == '__main__':
    main()
