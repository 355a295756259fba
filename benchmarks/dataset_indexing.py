"""Indexing time of NUSWideZSLDataset on a 100k-image NUS-WIDE-style set.

Writes (in a temporary folder) official-format metadata for N images:
``ImageList/*.txt``, ``NUS_WID_Tags/TagList1k.txt`` + ``AllTags1k.txt``
(N x 1000 0/1 text, ~2 KB per image), ``ConceptsList/Concepts81.txt``,
``Groundtruth/AllLabels/Labels_*.txt``, and the papers' signed test pickles;
then times building the dataset (``full_init``) from each label source, the
existence check of the listed images, and our converted annotation file.
For scale, a plain line-by-line Python parse of ``AllTags1k.txt`` (what a
naive reader does) is timed on the first rows and its full-file time
extrapolated (marked as such).

Usage::

    python benchmarks/dataset_indexing.py [--num-images 100000] [--keep DIR]
"""
import argparse
import os
import os.path as osp
import pickle
import platform
import shutil
import tempfile
import time

import numpy as np

from granzsl_mm.datasets import NUSWideZSLDataset, write_nuswide_metadata
from granzsl_mm.datasets.converters import NUSWIDE_ZSL_OUTPUTS, convert_nuswide_zsl

SHARED = osp.join(osp.dirname(__file__), '..', '..', 'shared', 'data',
                  'nuswide')


def class_lists():
    """The real tag / concept names when available, else synthetic ones
    with the same overlap (75 concepts among the 1000 tags)."""
    from granzsl_mm.datasets.zsl.nuswide_metadata import read_lines
    tags_file = osp.join(SHARED, 'TagList1k.txt')
    concepts_file = osp.join(SHARED, 'Concepts81.txt')
    if osp.isfile(tags_file) and osp.isfile(concepts_file):
        return read_lines(tags_file), read_lines(concepts_file)
    concepts = [f'concept{i}' for i in range(81)]
    tags = concepts[:75] + [f'tag{i}' for i in range(925)]
    return tags, concepts


def build(root: str, num_images: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    tags, concepts = class_lists()
    folders = [f'folder{i:03d}' for i in range(700)]
    keys = [f'{folders[i % 700]}/{i:07d}_{rng.integers(1e9)}.jpg'
            for i in range(num_images)]
    is_train = rng.random(num_images) < 0.6
    tag_mat = (rng.random((num_images, len(tags))) < 0.008).astype(np.uint8)
    concept_mat = (rng.random((num_images, len(concepts))) < 0.03).astype(
        np.uint8)
    write_nuswide_metadata(root, tags, concepts, keys, is_train, tag_mat,
                           concept_mat)
    test = np.flatnonzero(~is_train)
    overlap = [i for i, t in enumerate(tags) if t in set(concepts)]
    seen_signed = np.where(tag_mat[test] == 1, 1, -1).astype(np.int8)
    seen_signed[:, overlap] = 0
    unseen_signed = np.where(concept_mat[test] == 1, 1, -1).astype(np.int8)
    for name, mat in (('test_seen_labels.pkl', seen_signed),
                      ('test_unseen_labels.pkl', unseen_signed)):
        with open(osp.join(root, name), 'wb') as f:
            pickle.dump({f'Flickr/{keys[i]}': mat[k]
                         for k, i in enumerate(test)}, f)
    for folder in folders:
        os.makedirs(osp.join(root, 'Flickr', folder), exist_ok=True)
    for key in keys[::2]:  # every other image "downloaded" (empty file)
        open(osp.join(root, 'Flickr', key), 'wb').close()
    return dict(tags=len(tags), test=len(test), train=int(is_train.sum()))


def timed(fn, repeat: int = 1):
    best, out = float('inf'), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def naive_rows_per_second(path: str, rows: int) -> float:
    t0 = time.perf_counter()
    with open(path) as f:
        parsed = []
        for k, line in enumerate(f):
            if k == rows:
                break
            parsed.append([int(v) for v in line.split()])
    return rows / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=100_000)
    parser.add_argument('--naive-rows', type=int, default=5000)
    parser.add_argument('--keep', help='write the set here and keep it')
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix='nuswide_bench_')
    try:
        print(f'python {platform.python_version()}, {os.cpu_count()} CPUs, '
              f'{args.num_images} images, root {root}')
        t_write, counts = timed(lambda: build(root, args.num_images))
        size = osp.getsize(osp.join(root, 'NUS_WID_Tags', 'AllTags1k.txt'))
        print(f'wrote metadata + pickles in {t_write:.2f}s '
              f'(AllTags1k.txt {size / 2**20:.0f} MiB; {counts})')
        rows = []

        def make(**kw):
            return lambda: NUSWideZSLDataset(data_root=root, **kw)

        cases = [
            ('metadata, split=all, label_set=all', args.num_images,
             make(split='all', check_images='none')),
            ('metadata, split=train, label_set=seen', counts['train'],
             make(split='train', label_set='seen', check_images='none')),
            ('metadata, split=test, label_set=all', counts['test'],
             make(split='test', check_images='none')),
            ("papers' pickles, label_set=all", counts['test'],
             make(labels_from='pickles', check_images='none')),
            ('metadata, split=all + existence check (half missing, skip)',
             args.num_images,
             make(split='all', check_images='exists', bad_images='skip')),
        ]
        out = osp.join(root, 'ann')
        t_conv, _ = timed(lambda: convert_nuswide_zsl(root, out,
                                                      overwrite=True))
        cases.append(('our converted test json (ann_file)', counts['test'],
                      make(ann_file=osp.join(out, NUSWIDE_ZSL_OUTPUTS['test']),
                           check_images='none')))
        for name, n, fn in cases:
            t, ds = timed(fn)
            rows.append((name, n, len(ds), t))
        print(f'{"dataset build (full_init)":60s} {"listed":>8s} '
              f'{"items":>8s} {"seconds":>8s} {"img/s":>10s}')
        for name, n, items, t in rows:
            print(f'{name:60s} {n:8d} {items:8d} {t:8.2f} {n / t:10.0f}')
        print(f'converter (train + test files) {t_conv:.2f}s')
        rate = naive_rows_per_second(
            osp.join(root, 'NUS_WID_Tags', 'AllTags1k.txt'), args.naive_rows)
        naive_full = args.num_images / rate
        ours = rows[0][3]
        print(f'naive line-by-line parse of AllTags1k.txt: {rate:.0f} rows/s '
              f'on the first {args.naive_rows} rows -> ~{naive_full:.1f}s for '
              f'{args.num_images} rows (extrapolated); the reader builds the '
              f'whole dataset in {ours:.2f}s ({naive_full / ours:.1f}x)')
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
