"""Write the VLPL CLIP pseudo-label cache of an SPML config's training set.

Reads ``pseudo_label_cfg`` of the config (CLIP tower, its preprocessing and
pipeline, prompts, temperature T, threshold, rho, soft targets) and the
training dataset (``train_dataloader.dataset``), runs the frozen CLIP once
over the training images and writes the ``.npz`` file that the training set
reads through ``pseudo_label_file``.

    python tools/generate_pseudo_labels.py configs/spml_coco_sigrl_clip.py
"""
import _cli

import argparse
import copy
import json
import sys

import torch
from mmengine.config import Config, DictAction

from granzsl_mm import register_all_modules
from granzsl_mm.apis import generate_pseudo_labels
from granzsl_mm.registry import DATASETS, MODELS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='SPML config with pseudo_label_cfg')
    parser.add_argument('--out', help='output file (default: '
                        'pseudo_label_cfg.out_file)')
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (a.b=1, list: a=[1,2])')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    pl_cfg = cfg.get('pseudo_label_cfg')
    if pl_cfg is None:
        print(f'{sys.argv[0]}: error: {args.config} has no pseudo_label_cfg '
              '(the SPML configs with CLIP pseudo-labels have one: '
              'docs/spml.md)', file=sys.stderr)
        return 2
    out_file = args.out or pl_cfg.out_file
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.update(pseudo_label_file=None, pipeline=pl_cfg.pipeline)
    ds_cfg.pop('indices', None)  # label every training image
    dataset = DATASETS.build(ds_cfg)
    backbone = MODELS.build(pl_cfg.clip).to(args.device)
    text_encoder = MODELS.get('CLIPTextEncoder').from_clip(
        backbone.clip, backbone.tokenizer)
    preprocessor = MODELS.build(pl_cfg.data_preprocessor).to(args.device)
    summary = generate_pseudo_labels(
        dataset, backbone, text_encoder, preprocessor, out_file,
        templates=pl_cfg.templates, temperature=pl_cfg.temperature,
        threshold=pl_cfg.threshold, rho=pl_cfg.rho,
        positive_target=pl_cfg.positive_target,
        negative_target=pl_cfg.negative_target,
        batch_size=pl_cfg.get('batch_size', 32),
        num_workers=pl_cfg.get('num_workers', 0),
        meta=dict(config=args.config, clip_arch=pl_cfg.clip.get('arch'),
                  clip_pretrained=pl_cfg.clip.get('pretrained')))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--cfg-options '
                      'pseudo_label_cfg.clip.pretrained=FILE'))
