"""The proving ground in one command (``make demo``, ``make evidence``).

Synthetic world(s) -> tiny CLIP pre-training and the SigLIP-style tower's
(cached) -> CLIP zero-shot prompt baselines, TagCLIP's training-free scores and
the SigLIP-style tower's sigmoid scores -> GranZSL text training and its
ablations, TaI-DPT trained on the captions -> MKT, SigRL, DualCoOp and
Recover-and-Match trained on the seen labels -> results. ``--world v1`` (the default,
``make demo``): the first demo world, one seed, results.md / results.json /
results.png. ``--world v2 --seeds N`` (``make evidence``): N independent
evidence worlds, every choice (epochs, learning rates) made on each world's
validation split, means, 95 % t-intervals and paired differences
(evidence.md / evidence.json / evidence.png). See docs/demo.md.
"""
import _cli

import argparse
import os.path as osp
import sys

from granzsl_mm.proving_ground.pipeline import WORLD_SETTINGS, run_proving_ground
from granzsl_mm.proving_ground.report import report_evidence
from granzsl_mm.proving_ground.world import WORLDS

V1, V2 = WORLD_SETTINGS['v1'], WORLD_SETTINGS['v2']


def _floats(text: str) -> tuple:
    return tuple(float(v) for v in text.split(',') if v.strip())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--world', default='v1', choices=sorted(WORLDS),
                        help="'v1' (default, make demo): the first demo "
                        'world, one seed, choices fixed in its configs, '
                        "data in --data-root itself; 'v2' (make "
                        'evidence): the evidence world with a validation '
                        'split, --seeds N worlds in <data-root>/seed_<i>')
    parser.add_argument('--seeds', type=int, default=1,
                        help='number of independent worlds (v2)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--configs-dir', default=None,
                        help='configs folder (default: the repository\'s)')
    parser.add_argument('--num-train', type=int, default=None,
                        help=f"training images per world (v1: {V1['num_train']}"
                        f", v2: {V2['num_train']})")
    parser.add_argument('--num-test', type=int, default=None,
                        help=f"test images per world ({V2['num_test']})")
    parser.add_argument('--num-val', type=int, default=None,
                        help=f"validation images per world (v2: {V2['num_val']})")
    parser.add_argument('--seed', type=int, default=0,
                        help='v1: world seed; v2: first seed index')
    parser.add_argument('--pretrain-iters', type=int, default=None,
                        help="override the pre-training config's iterations")
    parser.add_argument('--granzsl-epochs', type=int, default=None)
    parser.add_argument('--no-ablations', action='store_true')
    parser.add_argument('--no-image-methods', action='store_true',
                        help='skip the methods trained on images: MKT, '
                        'SigRL, DualCoOp, Recover-and-Match (configs/'
                        '{mkt,sigrl,dualcoop,recover_match}_demo.py)')
    parser.add_argument('--no-caption-methods', action='store_true',
                        help='skip TaI-DPT, trained on the captions '
                        '(configs/taidpt_demo.py)')
    parser.add_argument('--no-sigmoid-tower', action='store_true',
                        help='skip the SigLIP-style tower (configs/'
                        'pretrain_tiny_siglip_demo.py) and its rows')
    parser.add_argument('--image-epochs', type=int, default=None,
                        help="override the epochs of the methods trained on "
                        'images')
    parser.add_argument('--mkt-lrs', type=_floats, default=None,
                        help='MKT learning-rate grid, comma-separated (v2; '
                        'default ' + ','.join(
                            f'{v:g}' for v in V2['mkt_lrs'])
                        + ')')
    parser.add_argument('--sigrl-lrs', type=_floats, default=None,
                        help='SigRL learning-rate grid (v2; default ' +
                        ','.join(f'{v:g}'
                                 for v in V2['sigrl_lrs'])
                        + ')')
    parser.add_argument('--dualcoop-lrs', type=_floats, default=None,
                        help='DualCoOp learning-rate grid (v2; default ' +
                        ','.join(f'{v:g}' for v in V2['dualcoop_lrs'])
                        + ')')
    parser.add_argument('--recover-match-lrs', type=_floats, default=None,
                        help='Recover-and-Match learning-rate grid (v2; '
                        'default ' + ','.join(
                            f'{v:g}' for v in V2['recover_match_lrs'])
                        + ')')
    parser.add_argument('--force-pretrain', action='store_true',
                        help='ignore the cached tiny CLIP checkpoint(s) and '
                        'stage results')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a world in --data-root that was built '
                        'with other settings (refused otherwise)')
    parser.add_argument('--report-only', action='store_true',
                        help='v2: aggregate the finished seeds of the work '
                        'dir (seed_<i>/results.json) without running')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (1 is fastest on a machine '
                        'busy with other jobs; make demo / make evidence '
                        'pass 1)')
    args = parser.parse_args()
    # usage errors: one line, exit 2 (argparse's own form)
    if args.world == 'v1' and args.seeds != 1:
        parser.error('--world v1 is the single-seed first demo; use --world '
                     'v2 for --seeds N')
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    if args.report_only and args.world == 'v1':
        parser.error('--report-only aggregates the seeds of a v2 run '
                     '(--world v2)')
    return args


def _run(args: argparse.Namespace, seeds) -> None:
    run_proving_ground(
        work_dir=args.work_dir, data_root=args.data_root,
        world=args.world, seeds=seeds, first_seed=args.seed,
        configs_dir=args.configs_dir, ablations=not args.no_ablations,
        image_methods=not args.no_image_methods,
        caption_methods=not args.no_caption_methods,
        sigmoid_tower=not args.no_sigmoid_tower,
        force_pretrain=args.force_pretrain, overwrite=args.overwrite,
        num_threads=args.threads, num_train=args.num_train,
        num_test=args.num_test, num_val=args.num_val,
        pretrain_iters=args.pretrain_iters,
        granzsl_epochs=args.granzsl_epochs, image_epochs=args.image_epochs,
        mkt_lrs=args.mkt_lrs, sigrl_lrs=args.sigrl_lrs,
        dualcoop_lrs=args.dualcoop_lrs,
        recover_match_lrs=args.recover_match_lrs)


def main() -> None:
    args = parse_args()
    # v1: one world in the work dir and data root themselves; v2: seed
    # folders and the evidence report over them
    seeds = None if args.world == 'v1' else args.seeds
    if args.report_only:
        # a missing seed: one line, exit 2 (_cli.run)
        report_evidence(args.work_dir, seeds, first_seed=args.seed)
    else:
        try:
            _run(args, seeds)
        except FileExistsError as err:
            print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
            sys.exit(2)
    report = 'results.md' if seeds is None else 'evidence.md'
    with open(osp.join(args.work_dir, report), encoding='utf-8') as f:
        print(f.read().rstrip())


if __name__ == '__main__':
    sys.exit(_cli.run(main))
