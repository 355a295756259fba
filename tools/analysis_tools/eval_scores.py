"""Evaluate a saved score dump under any ZSL/GZSL protocol option.

The dump is what ``tools/test.py --out preds.pth`` writes: a list of dicts
of data-sample fields with ``pred_score``, ``gt_score`` and optionally
``pred_score_zsl``. It is read without running code from it
(:func:`granzsl_mm.evaluation.prediction_dump.load_predictions`: ``.pth``
weights-only, ``.npz`` without pickles, ``.pkl`` through the restricted
unpickler; ``--trust-dump`` reads a legacy pickle of your own in full). The
class split comes from the config's test dataset (``--config``) or from
``--num-seen``.

Labels: the dumps ``tools/test.py --out`` writes record their convention
(ours: 1 positive, 0 negative, -1 unknown) and are read as they are. For a
dump we did not write whose ``gt_score`` holds -1, state the convention:
``--label-convention ours`` or ``--label-convention signed`` (the papers'
+1 positive, -1 negative, 0 unknown, converted to ours).

Example::

    python tools/analysis_tools/eval_scores.py preds.pth --num-seen 925 \\
        --drop-empty-images --out-dir work_dirs/eval

A user error (a file, a label or an option that cannot be scored) exits
with status 2 and one line saying why.
"""
import _cli

import argparse
import sys
from typing import List, Optional

from granzsl_mm.apis.dataset_meta import dataset_meta_from_config
from granzsl_mm.evaluation.metrics import ZSLMultiLabelMetric
from granzsl_mm.evaluation.prediction_dump import load_predictions


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dump', help='dump of tools/test.py --out (.pth, '
                        '.npz or a plain-data .pkl)')
    parser.add_argument('--trust-dump', action='store_true',
                        help='read a .pkl with full unpickling (only a file '
                        'you made yourself)')
    parser.add_argument('--label-convention', choices=['ours', 'signed'],
                        help='labels of a dump that does not record them: '
                        'ours (1 positive, 0 negative, -1 unknown) or signed '
                        '(+1 positive, -1 negative, 0 unknown); needed when '
                        'its gt_score holds -1')
    split = parser.add_mutually_exclusive_group(required=True)
    split.add_argument('--config', help='config whose test dataset gives '
                       'the class split (dataset_meta)')
    split.add_argument('--num-seen', type=int,
                       help='number of seen classes (the first ones)')
    parser.add_argument('--topk', type=int, nargs='+', default=[3, 5])
    parser.add_argument('--label-sets', nargs='+', default=['zsl', 'gzsl'],
                        choices=['zsl', 'gzsl', 'seen', 'multilabel'])
    parser.add_argument('--empty-class', choices=['zero', 'skip'],
                        default='zero')
    parser.add_argument('--drop-empty-images', action='store_true')
    parser.add_argument('--out-dir', help='write per-class AP reports here')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Evaluate the dump and print a table; return the metrics."""
    args = parse_args(argv)
    results = load_predictions(args.dump, trust=args.trust_dump,
                               label_convention=args.label_convention)
    if args.config:
        meta = dataset_meta_from_config(args.config)
    else:
        num_classes = len(results[0]['gt_score'])
        if not 0 <= args.num_seen <= num_classes:
            raise ValueError(f'--num-seen {args.num_seen} outside '
                             f'[0, {num_classes}]')
        names = [f'class_{i}' for i in range(num_classes)]
        meta = dict(classes=names, seen_classes=names[:args.num_seen],
                    unseen_classes=names[args.num_seen:])
    metric = ZSLMultiLabelMetric(
        topk=args.topk, label_sets=args.label_sets,
        empty_class=args.empty_class,
        drop_empty_images=args.drop_empty_images, out_dir=args.out_dir)
    metric.dataset_meta = meta
    metric.process(None, results)
    metrics = metric.evaluate(len(results))
    print(f'protocol: {metric.protocol}; {len(results)} images')
    width = max(len(k) for k in metrics)
    for key, value in metrics.items():
        print(f'{key:<{width}}  {value:8.3f}')
    return metrics


if __name__ == '__main__':
    # every ValueError here is a check of the user's dump
    sys.exit(_cli.run(main, also=(ValueError,)))
