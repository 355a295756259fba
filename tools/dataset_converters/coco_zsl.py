"""Build the MS-COCO 2014 48 / 17 zero-shot annotation files from the
official instances jsons.

Writes to OUT_DIR:
  instances_train2014_seen_48_17.json  training set: train2014 images with no
      object of an unseen class, seen-class annotations only (images without
      any seen label dropped unless --keep-empty-train)
  instances_val2014_unseen_48_17.json  ZSL test set: val2014 images with an
      unseen object, unseen-class annotations only
  instances_val2014_gzsi_48_17.json    GZSL test set: val2014 images with an
      object of the 65 classes, their annotations
  split_48_17.json                     {"seen": [48], "unseen": [17]}
and prints image and label counts. Output is deterministic (sorted by id).

IMPORTANT: the papers' (LESA, BiAM, MKT, GranZSL, SigRL) ZSL / GZSL test sets
are their RELEASED instances_val2014_unseen_48_17.json /
instances_val2014_gzsi_48_17.json; use those to compare with published
numbers. A split rebuilt here follows the same rule but is not guaranteed to
be identical to the released files. The training set is rebuilt the same way
the papers describe (they train on train2014 with seen labels only).

    python tools/dataset_converters/coco_zsl.py \\
        --train data/coco/annotations/instances_train2014.json \\
        --val data/coco/annotations/instances_val2014.json \\
        --out-dir data/coco/annotations_rebuilt [--split-file cls_ids.pickle]
"""
import _cli

import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--train', help='official instances_train2014.json')
    parser.add_argument('--val', help='official instances_val2014.json')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--split-file', help="the papers' cls_ids.pickle or "
                        'our split json (default: the 48/17 split of Bansal '
                        'et al.)')
    parser.add_argument('--keep-segmentation', action='store_true',
                        help='keep segmentation masks (large files)')
    parser.add_argument('--keep-empty-train', action='store_true',
                        help='keep training images without any seen label')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files')
    args = parser.parse_args(argv)
    if not (args.train or args.val):
        parser.error('pass --train and/or --val')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # imported here so that --help answers without loading torch
    from granzsl_mm.datasets.converters import convert_coco_zsl, format_summary
    summaries = convert_coco_zsl(
        args.train, args.val, args.out_dir, split_file=args.split_file,
        keep_segmentation=args.keep_segmentation,
        keep_empty_train=args.keep_empty_train, overwrite=args.overwrite)
    print(format_summary(summaries))
    print('Note: compare with published numbers on the papers\' released '
          'test jsons; a rebuilt split is not identical to them.')
    return 0


if __name__ == '__main__':
    sys.exit(_cli.run(main))
