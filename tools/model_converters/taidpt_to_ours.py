"""Convert TaI-DPT's released prompt weights into our TaIDPT checkpoint.

The layout and the key map live in :mod:`granzsl_mm.models.converters.taidpt`
(its docstring lists them); this is its command line. The file is read by
the safe loader: its pickled optimizer and scheduler objects are read as
inert placeholders and dropped, anything else a pickle references is refused.

Usage::

    python tools/model_converters/taidpt_to_ours.py \\
        RUN/prompt_learner/model-best.pth.tar OUT.pth
    python tools/test.py configs/taidpt_voc.py OUT.pth
"""
import _cli

import argparse
import sys
from typing import Optional, Sequence

from granzsl_mm.models.converters.taidpt import TRAINING_STATE_GLOBALS, convert
from granzsl_mm.utils.safe_checkpoint import (
    atomic_torch_save,
    safe_torch_load,
    set_checkpoint_trust,
)

#: Errors of this tool that are about the user's file (one line, exit 2).
USER_ERRORS = (ValueError, KeyError)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help="TaI-DPT's prompt_learner/"
                        'model-best.pth.tar (or model.pth.tar-<epoch>)')
    parser.add_argument('dst', help='output checkpoint (ours)')
    parser.add_argument('--learned-scales', action='store_true',
                        help='accept a run trained with IF_LEARN_SCALE / '
                        'IF_LEARN_spatial_SCALE (then set the scales the '
                        'output meta lists in the config)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling (only for files you '
                        'trust; released TaI-DPT files do not need it)')
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        set_checkpoint_trust(True)
    ckpt = safe_torch_load(args.src, 'cpu',
                           discard_globals=TRAINING_STATE_GLOBALS)
    out = convert(ckpt, source=args.src, learned_scales=args.learned_scales)
    atomic_torch_save(out, args.dst)
    meta = out['meta']
    print(f'wrote {args.dst}: {meta["num_context_tokens"]} context tokens, '
          f'class-specific {meta["class_specific"]}, epoch {meta["epoch"]}')


if __name__ == '__main__':
    sys.exit(_cli.run(main, also=USER_ERRORS))
