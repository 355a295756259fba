"""The proving ground in one command (``make demo``).

Synthetic world -> tiny CLIP pre-training (cached) -> CLIP zero-shot prompt
baseline -> GranZSL text training and its ablations -> ZSL/GZSL tests with
and without snippets -> MKT and SigRL fine-tuned on the seen labels ->
results.md / results.json / results.png in the work
dir, next to the chance mAP of random scores. See docs/demo.md.
"""
import argparse

from granzsl_mm.proving_ground.pipeline import run_world_demo


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--configs-dir', default=None,
                        help='configs folder (default: the repository\'s)')
    parser.add_argument('--num-train', type=int, default=4000)
    parser.add_argument('--num-test', type=int, default=600)
    parser.add_argument('--seed', type=int, default=0, help='world seed')
    parser.add_argument('--pretrain-iters', type=int, default=None,
                        help="override the pre-training config's iterations")
    parser.add_argument('--granzsl-epochs', type=int, default=None)
    parser.add_argument('--no-ablations', action='store_true')
    parser.add_argument('--no-image-methods', action='store_true',
                        help='skip MKT and SigRL (configs/mkt_demo.py, '
                        'configs/sigrl_demo.py)')
    parser.add_argument('--image-epochs', type=int, default=None,
                        help="override MKT's and SigRL's epochs")
    parser.add_argument('--force-pretrain', action='store_true',
                        help='ignore the cached tiny CLIP checkpoint')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (1 is fastest on a machine '
                        'busy with other jobs)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    run_world_demo(work_dir=args.work_dir, data_root=args.data_root,
                   configs_dir=args.configs_dir, num_train=args.num_train,
                   num_test=args.num_test, seed=args.seed,
                   pretrain_iters=args.pretrain_iters,
                   granzsl_epochs=args.granzsl_epochs,
                   ablations=not args.no_ablations,
                   image_methods=not args.no_image_methods,
                   image_epochs=args.image_epochs,
                   force_pretrain=args.force_pretrain,
                   num_threads=args.threads)


if __name__ == '__main__':
    main()
