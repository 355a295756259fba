"""Contrastive pre-training of a tiny open_clip model on the synthetic world.

Trains on the world in --data-root (the default world is built there when
the folder has none; a world already there, whatever its size, is used as it
is), with configs/pretrain_tiny_clip_demo.py by default, and writes a plain
open_clip checkpoint (<data-root>/tiny_clip.pt) that
OpenCLIPBackbone(arch='TinyCLIP-world', pretrained=<file>) loads
(configs/pretrain_tiny_siglip_demo.py: the sigmoid loss,
<data-root>/tiny_siglip.pt, arch 'TinyCLIP-world-sigmoid'). A
checkpoint matching the world and the config is reused unless --force. The
arguments are checked before anything is built or written.
"""
import _cli

import argparse
import os.path as osp
import sys

import granzsl_mm
from granzsl_mm.proving_ground import build_synthetic_world
from granzsl_mm.proving_ground.stages import pretrain_tiny_clip
from granzsl_mm.proving_ground.world_io import load_world_meta


def _iterations(text: str) -> int:
    value = int(text)
    if value < 4:  # a warm-up quarter and a cosine need 4
        raise argparse.ArgumentTypeError(f'must be >= 4, got {value}')
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?',
                        default='configs/pretrain_tiny_clip_demo.py')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--work-dir', default='work_dirs/pretrain_tiny_clip')
    parser.add_argument('--max-iters', type=_iterations, default=None,
                        help="override the config's iterations (>= 4)")
    parser.add_argument('--force', action='store_true',
                        help='train even if a matching checkpoint exists')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        print(f'{sys.argv[0]}: error: config not found: {args.config}',
              file=sys.stderr)
        sys.exit(2)
    granzsl_mm.register_all_modules()
    if load_world_meta(args.data_root) is None:
        try:
            build_synthetic_world(args.data_root, progress=True)
        except FileExistsError as err:
            print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
            sys.exit(2)
    path = pretrain_tiny_clip(args.config, args.data_root, args.work_dir,
                              max_iters=args.max_iters, force=args.force)
    print(f'open_clip checkpoint: {path}')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
