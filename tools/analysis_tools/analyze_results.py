"""Per class, the best- and worst-scored test images of a prediction dump.

MMPretrain's ``analyze_results.py`` for our multi-label ZSL dumps: for each
class, the images the model scores highest (hits and false alarms) and the
positives it scores lowest (its misses), drawn with their scores and labels,
one PNG per class in ``--out-dir``, plus ``summary.json``. The dump is what
``tools/test.py CONFIG CKPT --out preds.pth`` writes (read without running
code from it); the class names come from the config's test dataset or from
``--classes``.

Example::

    python tools/test.py configs/granzsl_demo.py CKPT --out preds.pth
    python tools/analysis_tools/analyze_results.py preds.pth \\
        --config configs/granzsl_demo.py --out-dir work_dirs/analysis

Exit status: 0; 1 when a drawn image could not be read (each is named,
and drawn as a note); 2 for a user error (a file, a class name or an
option that does not fit: one line saying why).
"""
import _cli

import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dump', help='dump of tools/test.py --out (.pth, '
                        '.npz or a plain-data .pkl)')
    names = parser.add_mutually_exclusive_group(required=True)
    names.add_argument('--config', help='config whose test dataset gives '
                       'the class names')
    names.add_argument('--classes', help='class names: a split json '
                       '({"seen": [...], "unseen": [...]}), a names file or '
                       'a class-list key')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the pictures and summary.json')
    parser.add_argument('--topk', type=int, default=4,
                        help='images per row (default 4)')
    parser.add_argument('--only', nargs='+', metavar='CLASS',
                        help='draw these classes only (default: all)')
    parser.add_argument('--method', help='method name in the titles '
                        '(default: the config file name)')
    parser.add_argument('--trust-dump', action='store_true',
                        help='read a .pkl with full unpickling (only a file '
                        'you made yourself)')
    parser.add_argument('--label-convention', choices=['ours', 'signed'],
                        help='labels of a dump that does not record them: '
                        'ours (1 positive, 0 negative, -1 unknown) or signed '
                        '(+1 positive, -1 negative, 0 unknown); needed when '
                        'its gt_score holds -1')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Draw the pictures; print where they are."""
    import os.path as osp

    from granzsl_mm.evaluation.prediction_dump import load_predictions
    from granzsl_mm.evaluation.result_analysis import analyze_results
    args = parse_args(argv)
    rows = load_predictions(args.dump, trust=args.trust_dump,
                            label_convention=args.label_convention)
    if args.config:
        from granzsl_mm.apis.dataset_meta import dataset_meta_from_config
        classes = list(dataset_meta_from_config(args.config)['classes'])
    else:
        from granzsl_mm.structures.class_names import read_class_names
        classes = list(read_class_names(args.classes)[0])
    method = args.method or (osp.splitext(osp.basename(args.config))[0]
                             if args.config else None)
    out = analyze_results(rows, classes, args.out_dir, topk=args.topk,
                          only=args.only, method=method)
    print(f'{len(out["pictures"])} class pictures and summary.json in '
          f'{args.out_dir}')
    if out['unreadable']:
        print(f'{len(out["unreadable"])} image(s) could not be read (drawn '
              'as a note): ' + '; '.join(
                  f'{path} ({why})' for path, why in out['unreadable'].items()))
        return 1
    return 0


if __name__ == '__main__':
    # every ValueError here is a check of the user's dump or options
    sys.exit(_cli.run(main, also=(ValueError, KeyError)))
