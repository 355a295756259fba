"""Convert learned GranZSL class names between the reference and our layout.

The conversion lives in :mod:`granzsl_mm.models.converters.granzsl` (its
docstring describes the layouts); this is its command line.

Usage::

    # RCNn (the authors' code) -> ours; also unseen_/gzsl_model_best.pth.tar
    python tools/model_converters/granzsl_to_ours.py checkpoint.pth.tar OUT.pth
    # (RCNn's real files pickle a live LR scheduler: add --trust-checkpoint
    #  if you trust them)
    # ours -> RCNn's layout (buffers from the text tower of --arch/--pretrained)
    python tools/model_converters/granzsl_to_ours.py OURS.pth REF.pth.tar --reverse
    # other layouts: --layout dualcoop|dassl|flat; other row orders:
    # --src-classes / --dst-classes name lists
"""
import _cli

import argparse
import json
import sys
from typing import Optional, Sequence

import torch

from granzsl_mm.models.converters.granzsl import *  # noqa: F401,F403
from granzsl_mm.models.converters.granzsl import (
    LAYOUTS,
    OUR_KEY,
    RCNN_CTX_INIT,
    _read_names,
    _state_dict,
    ours_to_reference,
    rcnn_prompt,
    rcnn_prompt_buffers,
    reference_to_ours,
)
from granzsl_mm.utils import (
    UnsafeCheckpointError,
    safe_torch_load,
    set_checkpoint_trust,
)


def _text_buffers(args, num_tokens: int) -> dict:
    from granzsl_mm.models.backbones import build_open_clip
    model_cfg = None
    if args.model_cfg:
        with open(args.model_cfg, encoding='utf-8') as f:
            model_cfg = json.load(f)
    clip, tokenizer = build_open_clip(args.arch, pretrained=args.pretrained,
                                      model_cfg=model_cfg)
    ids = tokenizer([rcnn_prompt(num_tokens, args.ctx_init)])
    return rcnn_prompt_buffers(clip.token_embedding.weight, ids, num_tokens,
                               args.ctx_init)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--reverse', action='store_true',
                        help='ours -> reference instead of reference -> ours')
    parser.add_argument('--key', help='exact key of the reference tensor')
    parser.add_argument('--layout', choices=LAYOUTS, default='rcnn',
                        help='reference layout written by --reverse')
    parser.add_argument('--arch', default='ViT-B-16',
                        help="--reverse --layout rcnn: CLIP whose token "
                        "embedding gives token_prefix/suffix")
    parser.add_argument('--pretrained', default='openai',
                        help='its weights (tag or file)')
    parser.add_argument('--model-cfg', help='open_clip config json of a '
                        'custom architecture')
    parser.add_argument('--ctx-init', default=RCNN_CTX_INIT,
                        help="RCNn's context words")
    parser.add_argument('--src-classes', help='class names of the input rows '
                        '(.txt one per line, .json list or split file)')
    parser.add_argument('--dst-classes', help='class names of the output rows')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling (RCNn and Dassl '
                        'checkpoints pickle scheduler / optimizer objects; '
                        'only for files you trust)')
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        set_checkpoint_trust(True)
    try:
        ckpt = safe_torch_load(args.src, map_location='cpu')
    except UnsafeCheckpointError as err:
        print(f'error: {err}\nRCNn checkpoints pickle a live LR scheduler '
              "('scheduler' -> 'successor'); the class names themselves are "
              'plain tensors. Rerun with --trust-checkpoint if you trust '
              f'{args.src}.', file=sys.stderr)
        return 2
    src, dst = _read_names(args.src_classes), _read_names(args.dst_classes)
    if args.reverse:
        buffers = None
        if args.layout == 'rcnn':
            vectors = _state_dict(ckpt).get(OUR_KEY)
            if vectors is None:
                print(f'error: {OUR_KEY!r} not in {args.src}', file=sys.stderr)
                return 2
            buffers = _text_buffers(args, int(vectors.shape[1]))
        out = ours_to_reference(ckpt, args.layout, src, dst, buffers)
    else:
        out = reference_to_ours(ckpt, args.key, src, dst)
    torch.save(out, args.dst)
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main))
