"""Build our NUS-WIDE 925 / 81 zero-shot annotation files from the official
metadata (ImageList/, NUS_WID_Tags/, ConceptsList/, Groundtruth/AllLabels/).

Writes to OUT_DIR (format granzsl_mm.zsl_multilabel/v1, read by
NUSWideZSLDataset(ann_file=...)):
  nuswide_zsl_train.json         official train list, 925 seen-tag labels
  nuswide_zsl_test.json          official test list, 925 + 81 labels
  nuswide_zsl_test_papers.json   (--from-pickles) the papers' test images and
                                 labels from test_seen_labels.pkl /
                                 test_unseen_labels.pkl (0 = unknown kept)
  split_925_81.json              {"seen": [925 tags], "unseen": [81 concepts]}
and prints image and label counts. Seen = TagList1k tags that are not among
the 81 concepts; unseen = the 81 concepts. Images are listed whether or not
they were downloaded (many Flickr URLs are dead): the dataset reports missing
ones when it is built.

    python tools/dataset_converters/nuswide_zsl.py data/nus_wide \\
        --out-dir data/nus_wide [--from-pickles]
"""
import _cli

import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='NUS-WIDE root with the official '
                        'metadata')
    parser.add_argument('--out-dir', help='output folder (default: root)')
    parser.add_argument('--from-pickles', action='store_true',
                        help="also convert the papers' test pickles found "
                        'in root')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # imported here so that --help answers without loading torch
    from granzsl_mm.datasets.converters import convert_nuswide_zsl, format_summary
    summaries = convert_nuswide_zsl(args.root, args.out_dir or args.root,
                                    from_pickles=args.from_pickles,
                                    overwrite=args.overwrite)
    print(format_summary(summaries))
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main))
