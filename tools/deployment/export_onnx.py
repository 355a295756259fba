"""Export a zero-shot / GranZSL classifier with a fixed vocabulary to ONNX.

One graph, image -> scores: input ``images`` float ``[B, 3, S, S]`` (BGR,
0-255, resized to the network size as the test pipeline does), output
``scores`` ``[B, V]`` over the vocabulary fixed at export. ``--snippets``
adds the GranZSL snippet aggregation (grids and resize of the config's
``tta_model``; antialiased resize, so opset >= 18). The export is checked
with onnxruntime against PyTorch on the same random images and the largest
difference printed (exit status 1 above ``--atol``).

Examples::

    python tools/deployment/export_onnx.py configs/clip_zeroshot_coco.py \\
        --vocab coco80 --out work_dirs/clip_zeroshot_coco80.onnx
    python tools/deployment/export_onnx.py configs/granzsl_coco.py \\
        --checkpoint work_dirs/granzsl_coco/epoch_30.pth --snippets \\
        --out work_dirs/granzsl_coco_snippets.onnx

Needs ``pip install -e .[onnx]`` (onnx, onnxruntime).
"""
import _cli

import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a classifier with '
                                     'a fixed vocabulary to ONNX')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--checkpoint', help='checkpoint of our model')
    parser.add_argument('--clip-checkpoint', metavar='FILE',
                        help='local open_clip / OpenAI CLIP weights file')
    parser.add_argument('--vocab', default='all',
                        help='vocabulary (as tools/infer.py --vocab)')
    parser.add_argument('--snippets', action='store_true',
                        help="include the snippet aggregation (config's "
                        'tta_model grids and snippet_resize)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--check-batch', type=int, default=2,
                        help='random images for the onnxruntime check '
                        '(0: no check)')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def _image_size(inferencer) -> int:
    for step in inferencer.pipeline.transforms:
        scale = getattr(step, 'scale', None)
        if scale:
            scale = tuple(scale) if isinstance(scale, (tuple, list)) else (
                scale, scale)
            if scale[0] != scale[1]:
                raise ValueError(f'the test pipeline resizes to {scale}; the '
                                 'ONNX graph needs square images')
            return int(scale[0])
    size = inferencer.model.backbone.clip.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def main() -> int:
    args = parse_args()
    from granzsl_mm.apis import MultiLabelInferencer
    from granzsl_mm.apis.onnx_export import (
        ScoresGraph,
        compare_with_onnxruntime,
        export_onnx,
    )
    from granzsl_mm.apis.weights import (
        CLIP_OPTIONS,
        CheckpointMismatchError,
        ClipWeightsError,
        OfflineWeightsError,
        set_clip_weights,
        weights_option,
    )
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        if args.clip_checkpoint:
            set_clip_weights(cfg, args.clip_checkpoint,
                             option='--clip-checkpoint')
        with weights_option(CLIP_OPTIONS['infer']):
            inferencer = MultiLabelInferencer(cfg, pretrained=args.checkpoint,
                                              vocabulary=args.vocab)
    except (CheckpointMismatchError, ClipWeightsError, OfflineWeightsError,
            FileNotFoundError) as e:
        print(f'{sys.argv[0]}: error: {e}', file=sys.stderr)
        return 2
    tta = cfg.get('tta_model') or {}
    grids = inferencer.grids if args.snippets else None
    graph = ScoresGraph(inferencer.model, grids=grids,
                        snippet_resize=tta.get('snippet_resize', 'bicubic'))
    size = _image_size(inferencer)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    export_onnx(graph, args.out, size, opset=args.opset)
    # the sidecar is <out>.json (model.onnx -> model.onnx.json), as ONNX
    # names its external-data file <out>.data: it never takes another file's
    # name beside the graph
    meta = args.out + '.json'
    with open(meta, 'w', encoding='utf-8') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                       clip_checkpoint=args.clip_checkpoint,
                       vocabulary=graph.words, sources=inferencer.sources,
                       image_size=size, snippets=list(grids or ()),
                       input='images: float [B, 3, S, S], BGR, 0-255',
                       output='scores: [B, V]'), f, indent=1)
    print(f'{args.out}: {len(graph.words)} words, {size}x{size} input, '
          f'snippets {list(grids) if grids else "off"}, opset {args.opset}; '
          f'vocabulary and input in {meta}')
    if args.check_batch:
        torch.manual_seed(0)
        images = torch.rand(args.check_batch, 3, size, size) * 255
        diff = compare_with_onnxruntime(graph, args.out, images)
        print(f'onnxruntime vs PyTorch on {args.check_batch} images: max '
              f'|diff| = {diff:.3g}')
        if diff > args.atol:
            print(f'difference above --atol {args.atol}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--clip-checkpoint FILE'))
