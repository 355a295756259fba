"""Build our Open Images v4 7,186 / 400 zero-shot annotation files from the
official v4 (2018_04) csv files and BiAM's split files.

ROOT holds (in ROOT/2018_04/ or ROOT/):
  class-descriptions.csv, classes-trainable.txt, unseen_labels.pkl,
  top_400_unseen.csv (BiAM datasets/OpenImages/2018_04/), and
  <split>/<split>-annotations-human-imagelabels.csv for each split.
Writes to OUT_DIR (format granzsl_mm.openimages_zsl/v1, read by
OpenImagesZSLDataset(ann_file=...)):
  openimages_zsl_train.json       train csv, 7,186 seen labels
  openimages_zsl_test.json        test csv, 7,186 + 400 labels
  split_7186_400.json             class names (seen, unseen) and MIDs
and prints image and label counts. Labels: Confidence 1 -> positive, 0 ->
verified negative, not listed -> unknown. unseen_labels.pkl is read with a
restricted unpickler (nothing in it runs).

    python tools/dataset_converters/openimages_zsl.py data/openimages \\
        --out-dir data/openimages [--splits train test] [--unseen all]
"""
import _cli

import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='Open Images root')
    parser.add_argument('--out-dir', help='output folder (default: root)')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'validation', 'test'])
    parser.add_argument('--unseen', default='top400',
                        choices=['top400', 'all'],
                        help='the 400 evaluated unseen labels (default) or '
                        'all 2,594 of unseen_labels.pkl')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # imported here so that --help answers without loading torch
    from granzsl_mm.datasets.converters.openimages_zsl import convert_openimages_zsl
    from granzsl_mm.datasets.converters.summary import format_summary
    summaries = convert_openimages_zsl(
        args.root, args.out_dir or args.root, splits=args.splits,
        unseen=args.unseen, overwrite=args.overwrite)
    print(format_summary(summaries))
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main))
