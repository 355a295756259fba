"""Check a config's dataset before a long run: decode every image, compare
the split files, class and image counts with the published ones.

Every listed image is decoded in full (progress bar on stderr); each missing
or unreadable one is named. For COCO 48/17, NUS-WIDE 925/81 and Open Images
7,186/400 the SHA-256 of the released split files found under the data root
(``cls_ids.pickle``, ``Concepts81.txt``, ``TagList1k.txt``, BiAM's Open
Images files), the class counts, the image-folder count and the official
image lists' line counts are compared with the published values, each with
its source (``granzsl_mm.datasets.published_values``); a synthetic world is
compared with its ``world.json``.

Example::

    python tools/misc/verify_dataset.py configs/granzsl_coco.py
    python tools/misc/verify_dataset.py configs/granzsl_demo.py --split test

Exit status: 0 when everything checked matches, 1 when something differs
(the table says what), 2 for a user error (one line saying why).
"""
import _cli

import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line options."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=['test', 'val', 'train'],
                        default='test', help="whose dataloader's dataset "
                        '(default: test)')
    parser.add_argument('--no-decode', action='store_true',
                        help='check that the images exist, without decoding')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the checks, print the table; 1 if something differs."""
    from mmengine.config import Config

    from granzsl_mm import register_all_modules
    from granzsl_mm.datasets.verification import (
        build_unchecked,
        format_table,
        has_differences,
        verify_dataset,
    )
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ValueError(f'{args.config} has no {args.split}_dataloader '
                         'dataset; choose another --split')
    dataset = build_unchecked(loader['dataset'])
    rows = verify_dataset(dataset, decode=not args.no_decode,
                          progress=not args.no_progress)
    print(f'{args.config}, {args.split} dataset:')
    print(format_table(rows))
    return 1 if has_differences(rows) else 0


if __name__ == '__main__':
    sys.exit(_cli.run(main, also=(ValueError, )))
