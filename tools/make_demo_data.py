"""Draw the synthetic demo world in the COCO-ZSL formats (data/demo/ by default).

Writes images/, annotations/instances_{train,test}.json (train: seen labels
only), annotations/captions_pretrain.json, split.json, descriptions.json and
world.json; see granzsl_mm.proving_ground.world for the world's rules.
"""
import _cli

import argparse
import sys

from granzsl_mm.proving_ground import build_synthetic_world


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='data/demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=4000,
                        help='pre-training / training images')
    parser.add_argument('--num-test', type=int, default=600,
                        help='test images')
    parser.add_argument('--seed', type=int, default=0, help='world seed')
    parser.add_argument('--captions-per-image', type=int, default=2)
    parser.add_argument('--overwrite', action='store_true',
                        help='rebuild even if the same world exists, and '
                        'replace a world with other settings')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        meta = build_synthetic_world(
            args.out_dir, num_train=args.num_train, num_test=args.num_test,
            seed=args.seed, captions_per_image=args.captions_per_image,
            overwrite=args.overwrite, progress=True)
    except FileExistsError as err:
        print(f'{sys.argv[0]}: error: {err}', file=sys.stderr)
        sys.exit(2)
    test = meta['counts']['test']['positives']
    print(f"world in {args.out_dir}: {len(meta['classes'])} classes "
          f"({len(meta['seen_classes'])} seen, "
          f"{len(meta['unseen_classes'])} unseen), "
          f"{meta['counts']['train']['images']} train / "
          f"{meta['counts']['test']['images']} test images")
    print('unseen classes (test positives): ' + ', '.join(
        f'{c} ({test[c]})' for c in meta['unseen_classes']))


if __name__ == '__main__':
    sys.exit(_cli.run(main))
