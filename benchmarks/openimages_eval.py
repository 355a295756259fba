"""Open Images-scale evaluation: streaming score file vs in-memory paths.

Three ways to get ZSL (400 classes) + GZSL (7,586) mAP and F1@10/20 of
125,456 images (the OI v4 test images of BiAM's h5 files) x 7,586 classes,
each run in its own subprocess so that its peak RSS (``ru_maxrss``) is its
own:

* ``streaming``: ``StreamingZSLMultiLabelMetric`` as configured by
  default: top-K per buffered row chunk, per-class AP from the known labels
  kept while they fit ``sparse_limit`` (they do here), so no score file;
* ``streaming_file``: the same with ``keep_files=True``: the 4.75 GB score
  file (scores float32 + labels int8) written and kept, as a user who wants
  the scores afterwards runs it;
* ``openimages``: ``OpenImagesZSLMetric`` (BiAM's protocol: class mask,
  weighted mAP; streamed the same way, no score file for ZSL + GZSL);
* ``loop``: the whole matrix in memory and one descending sort per class, as
  the reference code computes AP (BiAM ``compute_AP`` per column), top-K with
  ``torch.topk`` over the whole matrix;
* ``today``: ``ZSLMultiLabelMetric`` (samples kept in memory, stacked, then
  ``multilabel_zsl_metrics``);
* ``generate``: only the synthetic inputs, generated batch by batch as every
  path does (their common cost; the ratios are also printed net of it).

Labels: Open Images-like density, stated here as an assumption (OI v4 test:
on the order of 9 human-verified labels per image among thousands of
classes): every image gets ``--pos`` positives and ``--neg`` verified
negatives on random classes (default 5 and 4), everything else unknown
(-1): 99.9 % unknown. Scores: uniform float32 (ties are rare; the loop and
our kernels agree without them), generated in batches from a seed, the same
in every path.

Usage::

    python benchmarks/openimages_eval.py [--rows N --classes C]
        [--paths generate streaming loop today] [--today-rows N]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

NUM_UNSEEN = 400


def batches(n: int, c: int, pos: int, neg: int, batch: int = 512):
    """Deterministic (scores, targets) batches of the synthetic set.

    Each image's ``pos + neg`` labelled classes are distinct: a random start
    plus increasing random steps (their sum stays below ``c``), modulo
    ``c``; the first ``pos`` are positives. Vectorised, so that generating
    the inputs costs little next to the metric (the ``generate`` path times
    it alone).
    """
    m = pos + neg
    if m > c:
        raise ValueError(f'{m} labels per image > {c} classes')
    max_step = max(1, (c - 1) // max(m, 1))
    for a in range(0, n, batch):
        b = min(a + batch, n)
        rng = np.random.default_rng([7, a])
        scores = rng.random((b - a, c), dtype=np.float32)
        targets = np.full((b - a, c), -1, np.int8)
        steps = rng.integers(1, max_step + 1, size=(b - a, m))
        cols = (rng.integers(0, c, size=(b - a, 1)) + np.cumsum(
            steps, axis=1) - steps[:, :1]) % c
        rows = np.arange(b - a)[:, None]
        targets[rows, cols[:, :pos]] = 1
        targets[rows, cols[:, pos:]] = 0
        yield a, scores, targets


def run_generate(n, c, pos, neg, topk):
    """Only the inputs (common to every path): generate and touch them."""
    total = 0.0
    for _, s, t in batches(n, c, pos, neg):
        total += float(s[:, 0].sum()) + int(t[:, 0].sum())
    return {'checksum/mAP': total}


def _meta(c: int) -> dict:
    names = [f'c{i}' for i in range(c)]
    return dict(classes=names, seen_classes=names[:c - NUM_UNSEEN],
                unseen_classes=names[c - NUM_UNSEEN:])


class EvalClock:
    """Wall time spent inside the evaluator's own calls (the producer of
    the scores, here the generator, is not counted)."""
    wall = 0.0

    def __enter__(self):
        self._t0 = time.perf_counter()

    def __exit__(self, *exc):
        EvalClock.wall += time.perf_counter() - self._t0


def _feed(metric, n, c, pos, neg):
    """Feed the synthetic set to a streaming metric and evaluate it."""
    metric.dataset_meta = _meta(c)
    for a, s, t in batches(n, c, pos, neg):
        samples = [dict(pred_score=s[i], gt_score=t[i], sample_idx=a + i)
                   for i in range(len(s))]
        with EvalClock():
            metric.process(None, samples)
    with EvalClock():
        return metric.evaluate(n)


def run_streaming(n, c, pos, neg, topk, keep_files=False):
    from granzsl_mm.evaluation.metrics.streaming_zsl_metric import (
        StreamingZSLMultiLabelMetric,
    )
    with tempfile.TemporaryDirectory(prefix='oi_scores_') as folder:
        metric = StreamingZSLMultiLabelMetric(
            topk=topk, chunk_cols=32, buffer_rows=512, score_dir=folder,
            keep_files=keep_files)
        return _feed(metric, n, c, pos, neg)


def run_openimages(n, c, pos, neg, topk):
    from granzsl_mm.evaluation.metrics.openimages_zsl_metric import (
        OpenImagesZSLMetric,
    )
    return _feed(OpenImagesZSLMetric(topk=topk, buffer_rows=512), n, c, pos,
                 neg)


def run_streaming_file(n, c, pos, neg, topk):
    return run_streaming(n, c, pos, neg, topk, keep_files=True)


def run_today(n, c, pos, neg, topk):
    from granzsl_mm.evaluation.metrics.zsl_multilabel_metric import ZSLMultiLabelMetric
    metric = ZSLMultiLabelMetric(topk=topk)
    metric.dataset_meta = _meta(c)
    for _, s, t in batches(n, c, pos, neg):
        samples = [dict(pred_score=s[i], gt_score=t[i])
                   for i in range(len(s))]
        with EvalClock():
            metric.process(None, samples)
    with EvalClock():
        return metric.evaluate(n)


def _loop_set(scores, targets, topk):
    import torch
    aps = []
    for j in range(scores.shape[1]):
        valid = targets[:, j] != -1
        s, t = scores[valid, j], targets[valid, j]
        order = np.argsort(-s, kind='stable')
        hits = t[order] == 1
        if hits.sum() == 0:
            aps.append(0.0)
            continue
        prec = np.cumsum(hits) / np.arange(1, hits.size + 1)
        aps.append(float(prec[hits].sum() / hits.sum()))
    out = {'mAP': 100 * float(np.mean(aps))}
    n_gt = int((targets == 1).sum())
    for k in topk:
        top = torch.topk(torch.from_numpy(scores), k, dim=1).indices.numpy()
        tp = int((np.take_along_axis(targets, top, axis=1) == 1).sum())
        p, r = tp / (scores.shape[0] * k), tp / n_gt
        out[f'F1@{k}'] = 100 * 2 * p * r / (p + r) if p + r else 0.0
    return out


def run_loop(n, c, pos, neg, topk):
    scores = np.empty((n, c), np.float32)
    targets = np.empty((n, c), np.int8)
    for a, s, t in batches(n, c, pos, neg):
        with EvalClock():
            scores[a:a + len(s)], targets[a:a + len(s)] = s, t
    out = {}
    with EvalClock():
        for name, sl in (('zsl', slice(c - NUM_UNSEEN, c)),
                         ('gzsl', slice(0, c))):
            res = _loop_set(np.ascontiguousarray(scores[:, sl]),
                            np.ascontiguousarray(targets[:, sl]), topk)
            out.update({f'{name}/{k}': v for k, v in res.items()})
    return out


PATHS = dict(generate=run_generate, streaming=run_streaming,
             streaming_file=run_streaming_file, openimages=run_openimages,
             loop=run_loop,
             today=run_today)


def _import_first(path: str) -> None:
    """Import what a path uses before its timer starts (imports of torch /
    mmengine take seconds on a loaded machine and are no part of it)."""
    import torch  # noqa: F401
    if path.startswith('streaming'):
        from granzsl_mm.evaluation.metrics import streaming_zsl_metric  # noqa
    elif path == 'openimages':
        from granzsl_mm.evaluation.metrics import openimages_zsl_metric  # noqa
    elif path == 'today':
        from granzsl_mm.evaluation.metrics import zsl_multilabel_metric  # noqa


def child(args) -> None:
    _import_first(args.child)
    t0, c0 = time.perf_counter(), time.process_time()
    res = PATHS[args.child](args.rows, args.classes, args.pos, args.neg,
                            (10, 20))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB
    keys = [k for k in sorted(res) if k.endswith(('mAP', 'F1@10', 'F1@20'))]
    print(json.dumps(dict(wall=wall, cpu=cpu, rss_gib=rss,
                          eval_wall=EvalClock.wall,
                          metrics={k: res[k] for k in keys})))


def memcpy_gbps(mib: int = 512, repeats: int = 5) -> float:
    """This machine's memory bandwidth as NumPy's copy measures it: bytes
    read plus bytes written per second (GB/s), best of ``repeats``."""
    src = np.ones(mib << 18, np.float32)  # mib MiB
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--rows', type=int, default=125456)
    parser.add_argument('--classes', type=int, default=7586)
    parser.add_argument('--pos', type=int, default=5)
    parser.add_argument('--neg', type=int, default=4)
    parser.add_argument('--paths', nargs='+', default=list(PATHS),
                        choices=list(PATHS))
    parser.add_argument('--today-rows', type=int, default=None,
                        help='rows for the `today` path (default --rows)')
    parser.add_argument('--child', choices=list(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f'{args.rows} x {args.classes} ({NUM_UNSEEN} unseen); per image '
          f'{args.pos} positives + {args.neg} negatives, rest unknown; '
          f'cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}')
    results = {}
    for path in args.paths:
        rows = args.today_rows if path == 'today' and args.today_rows \
            else args.rows
        cmd = [sys.executable, __file__, '--child', path, '--rows', str(rows),
               '--classes', str(args.classes), '--pos', str(args.pos),
               '--neg', str(args.neg)]
        env = dict(os.environ, TMPDIR=os.environ.get('TMPDIR',
                                                     tempfile.gettempdir()))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f'{path}: failed ({proc.returncode}): '
                  f'{proc.stderr[-2000:]}')
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res['rows'] = rows
        results[path] = res
        m = res['metrics']
        if path == 'generate':
            print(f'{path:14s} rows={rows:7d} wall {res["wall"]:8.1f} s  cpu '
                  f'{res["cpu"]:8.1f} s  peak RSS {res["rss_gib"]:6.2f} GiB  '
                  '(inputs only)')
            continue
        print(f'{path:14s} rows={rows:7d} wall {res["wall"]:8.1f} s  cpu '
              f'{res["cpu"]:8.1f} s  in the evaluator '
              f'{res["eval_wall"]:6.1f} s  peak RSS {res["rss_gib"]:6.2f} '
              'GiB  ' + '  '.join(f'{k}={v:.4f}' for k, v in m.items()))
    gen = results.get('generate')
    if 'streaming' in results:
        base = results['streaming']
        for path, res in results.items():
            if path in ('streaming', 'generate'):
                continue
            scale = base['rows'] / res['rows']
            note = '' if scale == 1 else \
                f' (measured at {res["rows"]} rows; time x{scale:.2f} linear)'
            ratio = res['wall'] * scale / base['wall']
            cpu = res['cpu'] * scale / base['cpu']
            in_eval = res['eval_wall'] * scale / base['eval_wall']
            line = (f'{path} / streaming: wall x{ratio:.2f}, cpu x{cpu:.2f}, '
                    f'in the evaluator x{in_eval:.2f}, '
                    f'peak RSS x{res["rss_gib"] / base["rss_gib"]:.2f}')
            if gen is not None and gen['rows'] == base['rows']:
                net = [(res[k] * scale - gen[k]) / (base[k] - gen[k])
                       if base[k] > gen[k] else float('nan')
                       for k in ('wall', 'cpu')]
                line += (f'; net of generating the inputs: wall '
                         f'x{net[0]:.2f}, cpu x{net[1]:.2f}')
            print(line + note)
    if 'streaming' in results:
        # the least the streaming pass must do: read every score (4 bytes)
        # and label (1 byte) once
        gbps = memcpy_gbps()
        base = results['streaming']
        need = base['rows'] * args.classes * 5 / 1e9
        floor = need / gbps
        print(f'memory bandwidth (NumPy copy, read + write): {gbps:.1f} '
              f'GB/s; reading the {need:.2f} GB of scores and labels once '
              f'takes {floor:.2f} s: '
              f'{100 * floor / base["wall"]:.0f} % of the streaming wall '
              f'time, {100 * floor / base["eval_wall"]:.0f} % of its time in '
              'the evaluator')
    loop = results.get('loop')
    for path in ('streaming', 'streaming_file'):
        res = results.get(path)
        if res is None or loop is None or loop['rows'] != res['rows']:
            continue
        diffs = [abs(v - loop['metrics'][k])
                 for k, v in res['metrics'].items() if k in loop['metrics']]
        print(f'max |{path} - loop| over the metrics: {max(diffs):.2e}')


if __name__ == '__main__':
    main()
