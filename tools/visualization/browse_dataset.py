"""Save the first items of a config's dataset as labelled pictures.

Modes as MMPretrain's ``browse_dataset.py``: ``original`` (the file as
stored), ``transformed`` (what the model gets), ``concat`` (both side by
side), ``pipeline`` (the image after every pipeline step). Seen labels are
written in black, unseen ones in red.
"""
import _cli

import argparse
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from granzsl_mm import register_all_modules
from granzsl_mm.registry import DATASETS
from granzsl_mm.utils.browse import BROWSE_MODES, browse_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--phase', default='train',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--output-dir', default='browse_dataset')
    parser.add_argument('--show-number', type=int, default=8)
    parser.add_argument('--mode', default='transformed', choices=BROWSE_MODES,
                        help='original file, pipeline output, both '
                        '(concat) or every pipeline step (pipeline)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'granzsl_mm'))
    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
    files = browse_dataset(dataset, args.output_dir, args.show_number,
                           mode=args.mode)
    print(f'wrote {len(files)} files to {args.output_dir}')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
