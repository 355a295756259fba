"""Convert released MKT (and SigRL) checkpoints into our layout.

The key maps live in :mod:`granzsl_mm.models.converters.mkt` (its docstring
lists them); this is its command line.

Usage::

    python tools/model_converters/mkt_to_ours.py STAGE1.pth OUT.pth
    python tools/model_converters/mkt_to_ours.py STAGE1.pth OUT.pth \\
        --stage2 STAGE2_TEXT.pth          # then configs/mkt_stage2_*.py
    python tools/model_converters/sigrl_to_ours.py SIGRL.pth OUT.pth
    python tools/test.py CONFIG OUT.pth
"""
import _cli

import argparse
import sys
from typing import Optional, Sequence

from granzsl_mm.models.converters.mkt import *  # noqa: F401,F403
from granzsl_mm.models.converters.mkt import convert
from granzsl_mm.structures.prompts import MKT_TEMPLATE
from granzsl_mm.utils.safe_checkpoint import atomic_torch_save, safe_torch_load


def main(argv: Optional[Sequence[str]] = None, sigrl: bool = False) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='reference stage-1 checkpoint')
    parser.add_argument('dst', help='output checkpoint (ours)')
    parser.add_argument('--stage2', help='reference stage-2 (prompt learner) '
                        'checkpoint to merge in')
    parser.add_argument('--template', default=MKT_TEMPLATE,
                        help='stage-2 prompt (default: %(default)r)')
    args = parser.parse_args(argv)
    stage2 = safe_torch_load(args.stage2, 'cpu') if args.stage2 else None
    ckpt = convert(safe_torch_load(args.src, 'cpu'), stage2, sigrl=sigrl,
                   template=args.template)
    atomic_torch_save(ckpt, args.dst)
    print(f'wrote {len(ckpt["state_dict"])} tensors to {args.dst}')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
