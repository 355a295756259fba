"""Convert learned GranZSL class names between the reference and our layout.

The conversion lives in :mod:`granzsl_mm.models.converters.granzsl` (its
docstring describes both layouts); this is its command line.

Usage::

    # reference -> ours (then: tools/test.py CONFIG OUT.pth --tta)
    python tools/model_converters/granzsl_to_ours.py REF.pth OUT.pth
    # ours -> reference layout
    python tools/model_converters/granzsl_to_ours.py OURS.pth REF.pth --reverse
    # rows in another class order: --src-classes / --dst-classes name lists
"""
import argparse
from typing import Optional, Sequence

import torch

from granzsl_mm.models.converters.granzsl import *  # noqa: F401,F403
from granzsl_mm.models.converters.granzsl import (
    LAYOUTS,
    _read_names,
    ours_to_reference,
    reference_to_ours,
)
from granzsl_mm.utils import safe_torch_load, set_checkpoint_trust


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--reverse', action='store_true',
                        help='ours -> reference instead of reference -> ours')
    parser.add_argument('--key', help='exact key of the reference tensor')
    parser.add_argument('--layout', choices=LAYOUTS, default='dualcoop',
                        help='reference layout written by --reverse')
    parser.add_argument('--src-classes', help='class names of the input rows '
                        '(.txt one per line, .json list or split file)')
    parser.add_argument('--dst-classes', help='class names of the output rows')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling (Dassl checkpoints hold '
                        'optimizer objects; only for files you trust)')
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        set_checkpoint_trust(True)
    ckpt = safe_torch_load(args.src, map_location='cpu')
    src, dst = _read_names(args.src_classes), _read_names(args.dst_classes)
    if args.reverse:
        out = ours_to_reference(ckpt, args.layout, src, dst)
    else:
        out = reference_to_ours(ckpt, args.key, src, dst)
    torch.save(out, args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
