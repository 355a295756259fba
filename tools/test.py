"""Test (and evaluate) a checkpoint (MMPretrain's ``tools/test.py`` flags)."""
import argparse
import os
import sys

from mmengine.config import Config, DictAction

from granzsl_mm import register_all_modules
from granzsl_mm.engine import RunnerSetupError, build_runner, prepare_test_cfg
from granzsl_mm.utils import install_safe_loading, set_checkpoint_trust


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help="checkpoint file ('none': the "
                        "config's own weights, e.g. zero-shot CLIP)")
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='dump predictions (or metrics) here')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        default='pred', help='what --out holds')
    parser.add_argument('--show-dir', help='save a painted image per test '
                        'image here (relative paths: inside the work dir)')
    parser.add_argument('--tta', action='store_true',
                        help='use the config\'s tta_model and tta_pipeline')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow checkpoints that need full unpickling '
                        '(only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (a.b=1, list: a=[1,2])')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


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
    try:
        prepare_test_cfg(cfg, args.config, args.checkpoint,
                         work_dir=args.work_dir, out=args.out,
                         out_item=args.out_item, show_dir=args.show_dir,
                         tta=args.tta, launcher=args.launcher)
    except RunnerSetupError as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out is not None and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
