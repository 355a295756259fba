"""Train a model from a config (MMPretrain's ``tools/train.py`` flags)."""
import _cli

import argparse
import os
import sys

from mmengine.config import Config, DictAction

from granzsl_mm import register_all_modules
from granzsl_mm.engine import RunnerSetupError, build_runner, prepare_train_cfg
from granzsl_mm.utils import install_safe_loading, set_checkpoint_trust


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision training (needs CUDA)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual total batch size')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='disable pin_memory in every dataloader')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='disable persistent_workers in every dataloader')
    parser.add_argument('--clip-checkpoint', metavar='FILE',
                        help="local CLIP weights (open_clip or OpenAI file) "
                        "for the config's CLIP modules; the config's "
                        'architecture and activation are checked against it; '
                        '"random": a random tower (said in the log)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow checkpoints that need full unpickling '
                        '(only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (a.b=1, list: a=[1,2])')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or
    # --local_rank (older); accept both.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _set_loader_flags(cfg: Config, key: str, value: bool) -> None:
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is not None:
            loader[key] = value


def main() -> None:
    args = parse_args()
    register_all_modules()
    # This process is ours: mmengine's local loader goes through the safe
    # codec (clear refusals, NumPy arrays, --trust-checkpoint).
    install_safe_loading()
    if args.trust_checkpoint:
        set_checkpoint_trust(True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.no_pin_memory:
        _set_loader_flags(cfg, 'pin_memory', False)
    if args.no_persistent_workers:
        _set_loader_flags(cfg, 'persistent_workers', False)
    try:
        prepare_train_cfg(cfg, args.config, work_dir=args.work_dir,
                          resume=args.resume, amp=args.amp,
                          no_validate=args.no_validate,
                          auto_scale_lr=args.auto_scale_lr,
                          launcher=args.launcher)
    except RunnerSetupError as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    if args.clip_checkpoint is not None:
        from granzsl_mm.apis.weights import set_clip_weights
        try:
            set_clip_weights(cfg, args.clip_checkpoint,
                             option='--clip-checkpoint FILE')
        except (OSError, ValueError) as err:
            print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
            sys.exit(2)
    try:
        runner = build_runner(cfg)
    except RunnerSetupError as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    from granzsl_mm.apis.weights import CheckpointMismatchError
    try:
        runner.train()
    except CheckpointMismatchError as err:  # load_from / --resume misfit
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--clip-checkpoint FILE'))
