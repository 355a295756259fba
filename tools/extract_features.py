"""Cache the frozen backbone's features of a config's test set (resumable).

Writes global image features (and with ``--dense`` fp16 dense ones)
memory-mapped to ``--out-dir`` (see :mod:`granzsl_mm.apis.feature_cache`); rerunning the
same command after an interruption encodes only the missing images. A
folder holding the cache of another extraction (other weights, dataset or
preprocessing) is refused naming it; ``--overwrite`` makes it again. With
``--checkpoint`` the learned class names of that checkpoint are then scored
from the cache with the config's ``test_evaluator`` (no image tower run;
the checkpoint is loaded before extracting, since it may carry the frozen
CLIP weights too).

Disk size (printed before extracting): per image, global ``D`` fp32 (ViT-B/16:
512 x 4 B = 2 KiB), ``gt_score`` one byte a class (Open Images: 7,586 B),
and with ``--dense`` ``P x D`` fp16 (ViT-B/16 at 224 px: 196 x 512 x 2 B =
196 KiB). Open Images' 125,456 test images: 1.2 GB by default, 26.4 GB with
``--dense``. At that scale evaluate with ``--cfg-options
test_evaluator.type=StreamingZSLMultiLabelMetric``.

    python tools/extract_features.py configs/granzsl_coco.py \\
        --out-dir work_dirs/coco_feats --dense
    python tools/extract_features.py configs/granzsl_coco.py \\
        --out-dir work_dirs/coco_feats --dense \\
        --checkpoint work_dirs/granzsl_coco/epoch_30.pth
"""
import _cli

import argparse
import sys
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint

from granzsl_mm import register_all_modules
from granzsl_mm.apis.feature_cache import evaluate_cached, extract_features
from granzsl_mm.registry import DATASETS, MODELS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--out-dir', required=True, help='cache directory')
    parser.add_argument('--split', default='test', choices=['test', 'val'],
                        help='which dataloader of the config to encode')
    parser.add_argument('--dense', action='store_true',
                        help='also store dense features (needed for the '
                        "'both'/'local' score modes; ViT-B/16: 196 KiB an "
                        'image in fp16)')
    parser.add_argument('--dense-dtype', default='fp16',
                        choices=['fp16', 'fp32'])
    parser.add_argument('--global-dtype', default='fp32',
                        choices=['fp32', 'fp16'])
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--checkpoint', help='score its learned names from '
                        'the cache with the config\'s test_evaluator')
    parser.add_argument('--overwrite', action='store_true',
                        help='remove a cache already in --out-dir and '
                        'extract again (a folder of another extraction is '
                        'otherwise refused)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[dict]:
    """Extract (or resume) the cache; optionally evaluate a checkpoint."""
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        # before extracting: a checkpoint may carry the (frozen) CLIP too
        load_checkpoint(model, args.checkpoint, map_location='cpu',
                        strict=False)
    model = model.to(args.device).eval()
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    cache = extract_features(
        model, dataset, args.out_dir, dense=args.dense,
        dense_dtype=args.dense_dtype, global_dtype=args.global_dtype,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        info=dict(config=args.config, split=args.split),
        overwrite=args.overwrite)
    print(f'\ncache complete: {len(cache)} images -> {args.out_dir}\n'
          f'size: {cache.size_description()}')
    if not args.checkpoint:
        return None
    with torch.no_grad():
        names = model.class_name_embeddings()
    metric = cfg.get(f'{args.split}_evaluator')
    metrics = evaluate_cached(cache, names, dict(dataset.metainfo), metric,
                              logit_scale=model.logit_scale,
                              score_mode=model.score_mode)
    for key, value in metrics.items():
        print(f'{key:<16}{value:8.3f}')
    return metrics


if __name__ == '__main__':
    sys.exit(_cli.run(
        main, clip_option='--cfg-options model.backbone.pretrained=FILE'))
