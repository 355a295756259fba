"""Contrastive pre-training of a tiny open_clip model on the synthetic world.

Builds the world if needed, trains (configs/pretrain_tiny_clip_demo.py by
default) and writes a plain open_clip checkpoint (<data-root>/tiny_clip.pt)
that OpenCLIPBackbone(arch='TinyCLIP-world', pretrained=<file>) loads. A
checkpoint matching the world and the config is reused unless --force.
"""
import argparse

import granzsl_mm
from granzsl_mm.proving_ground import build_synthetic_world
from granzsl_mm.proving_ground.stages import pretrain_tiny_clip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?',
                        default='configs/pretrain_tiny_clip_demo.py')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--work-dir', default='work_dirs/pretrain_tiny_clip')
    parser.add_argument('--max-iters', type=int, default=None,
                        help="override the config's iterations")
    parser.add_argument('--force', action='store_true',
                        help='train even if a matching checkpoint exists')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    granzsl_mm.register_all_modules()
    build_synthetic_world(args.data_root, progress=True)
    path = pretrain_tiny_clip(args.config, args.data_root, args.work_dir,
                              max_iters=args.max_iters, force=args.force)
    print(f'open_clip checkpoint: {path}')


if __name__ == '__main__':
    main()
