"""Test (and evaluate) a checkpoint (MMPretrain's ``tools/test.py`` flags)."""
import _cli

import argparse
import os
import sys

from mmengine.config import Config, DictAction

from granzsl_mm import register_all_modules
from granzsl_mm.engine import RunnerSetupError, build_runner, prepare_test_cfg
from granzsl_mm.utils import install_safe_loading, set_checkpoint_trust


def parse_args() -> argparse.Namespace:
    # allow_abbrev=False: `--show` is its own flag, not `--show-dir` cut short.
    parser = argparse.ArgumentParser(description='Test (and eval) a model',
                                     allow_abbrev=False)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help="checkpoint file ('none': the "
                        "config's own weights, e.g. zero-shot CLIP)")
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='dump predictions (or metrics) here')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        default='pred', help='what --out holds')
    parser.add_argument('--show-dir', help='save a painted image per test '
                        'image here (relative paths: inside the work dir)')
    parser.add_argument('--show', action='store_true',
                        help='show the painted images in a window')
    parser.add_argument('--interval', type=int, default=1,
                        help='paint every n-th test image (--show, '
                        '--show-dir)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision test (fp16 on CUDA, bf16 '
                        'autocast on CPU)')
    parser.add_argument('--clip-checkpoint', metavar='FILE',
                        help="local CLIP weights (open_clip or OpenAI file) "
                        "for the config's CLIP modules; the config's "
                        'architecture and activation are checked against it; '
                        '"random": a random tower (said in the log)')
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


def _apply_show_options(cfg: Config, args: argparse.Namespace) -> None:
    """``--show``, ``--interval`` and ``--wait-time`` on the config's
    visualization hook (``--show-dir`` is set by ``prepare_test_cfg``)."""
    if not (args.show or args.show_dir):
        return
    vis = cfg.default_hooks.get('visualization') or dict(
        type='VisualizationHook')
    if vis.get('type') in ('VisualizationHook', 'mmpretrain.VisualizationHook'):
        # paint on the original image at a readable size, not the input
        vis['type'] = 'granzsl_mm.OriginalImageVisualizationHook'
    vis.update(enable=True, interval=args.interval)
    if args.show:
        vis.update(show=True, wait_time=args.wait_time)
    cfg.default_hooks.visualization = vis


def _apply_amp(cfg: Config) -> None:
    """``--amp``: the test loop runs under mmengine's autocast (fp16 on
    CUDA, bf16 on CPU), as MMPretrain's ``test.py --amp``."""
    test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
    test_cfg['fp16'] = True
    cfg.test_cfg = test_cfg


def main() -> None:
    args = parse_args()
    from granzsl_mm.apis.label_drawing import has_display
    if args.show and not has_display():
        print(f'{sys.argv[0]}: error: --show needs a display and this '
              'machine has none (no DISPLAY / WAYLAND_DISPLAY); write the '
              'pictures with --show-dir DIR instead', file=sys.stderr)
        sys.exit(2)
    register_all_modules()
    # This process is ours: mmengine's local loader goes through the safe
    # codec (clear refusals, NumPy arrays, --trust-checkpoint).
    install_safe_loading()
    if args.trust_checkpoint:
        set_checkpoint_trust(True)
    if args.checkpoint in ('none', 'None') and 'load_from' in (
            args.cfg_options or {}):
        print(f'{sys.argv[0]}: error: checkpoint "none" (the config\'s own '
              'weights) contradicts --cfg-options load_from='
              f'{args.cfg_options["load_from"]}: pass that checkpoint as the '
              'second argument instead', file=sys.stderr)
        sys.exit(2)
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
    if args.clip_checkpoint is not None:
        from granzsl_mm.apis.weights import CLIP_OPTIONS, set_clip_weights
        try:
            set_clip_weights(cfg, args.clip_checkpoint,
                             option=CLIP_OPTIONS['test'])
        except (OSError, ValueError) as err:
            print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
            sys.exit(2)
    _apply_show_options(cfg, args)
    if args.amp:
        _apply_amp(cfg)
    try:
        runner = build_runner(cfg)
    except RunnerSetupError as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    from granzsl_mm.apis.weights import CheckpointMismatchError
    try:
        metrics = runner.test()
    except CheckpointMismatchError as err:  # scored nothing
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    if args.out is not None and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    sys.exit(_cli.run(main, clip_option='--clip-checkpoint FILE'))
