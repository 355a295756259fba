"""NUS-WIDE 925 / 81 annotation files from the official metadata.

Writes, in our ``granzsl_mm.zsl_multilabel/v1`` json (OpenMMLab 2.0 style:
``metainfo`` + ``data_list`` of ``img_path`` / ``gt_label`` / optional
``unknown_label``, indices into seen then unseen classes):

* ``nuswide_zsl_train.json``: the official train list, seen labels only
  (``metainfo.label_set = 'seen'``);
* ``nuswide_zsl_test.json``: the official test list, all 1006 labels;
* ``nuswide_zsl_test_papers.json`` (with ``from_pickles``): the papers'
  ``test_seen_labels.pkl`` / ``test_unseen_labels.pkl`` images and labels
  (their 0 = unknown becomes ``unknown_label``);
* ``split_925_81.json``: ``{"seen": [925 tags], "unseen": [81 concepts]}``.

Images are listed whether or not they were downloaded; the dataset checks
them when it is built (``check_images`` / ``bad_images``).
"""
import os.path as osp
from typing import Dict

from ..zsl.nuswide_zsl import NUSWIDE_ANN_FORMAT, NUSWideZSLDataset
from .output_files import claim_outputs, write_json
from .summary import label_summary

__all__ = ['NUSWIDE_ZSL_OUTPUTS', 'convert_nuswide_zsl']

NUSWIDE_ZSL_OUTPUTS = dict(
    train='nuswide_zsl_train.json',
    test='nuswide_zsl_test.json',
    test_papers='nuswide_zsl_test_papers.json',
    split='split_925_81.json')


def _write(ds: NUSWideZSLDataset, path: str, source: str) -> dict:
    data_list = []
    for item in ds.data_list:
        entry = dict(img_path=osp.relpath(item['img_path'], ds.image_folder),
                     gt_label=item['gt_label'])
        if item['unknown_label']:
            entry['unknown_label'] = item['unknown_label']
        data_list.append(entry)
    meta = dict(format=NUSWIDE_ANN_FORMAT, dataset='NUS-WIDE',
                split=ds.split, label_set=ds.label_set, source=source,
                seen_classes=ds.all_seen_classes,
                unseen_classes=ds.all_unseen_classes,
                labels='gt_label: positive indices into seen_classes + '
                'unseen_classes; unknown_label: unknown indices (-1)')
    write_json(dict(metainfo=meta, data_list=data_list), path)
    return dict(label_summary([d['gt_label'] for d in data_list],
                              ds.metainfo['classes']), path=path)


def convert_nuswide_zsl(root: str, out_dir: str, from_pickles: bool = False,
                        overwrite: bool = False) -> Dict[str, dict]:
    """Write our NUS-WIDE zero-shot annotation files.

    Args:
        root (str): NUS-WIDE root with the official metadata (and, for
            ``from_pickles``, the papers' pickles).
        out_dir (str): Output folder (names: ``NUSWIDE_ZSL_OUTPUTS``).
        from_pickles (bool): Also convert the papers' test pickles.
        overwrite (bool): Replace existing output files.

    Returns:
        dict: Output name -> :func:`label_summary` dict with its ``path``.
    """
    names = ['train', 'test'] + (['test_papers'] if from_pickles else [])
    paths = {n: osp.join(out_dir, NUSWIDE_ZSL_OUTPUTS[n])
             for n in names + ['split']}
    claim_outputs(paths.values(), out_dir, overwrite)
    common = dict(data_root=root, check_images='none', serialize_data=False)
    jobs = [('train', dict(split='train', label_set='seen'),
             'official metadata'),
            ('test', dict(split='test', label_set='all'),
             'official metadata')]
    if from_pickles:
        jobs.append(('test_papers', dict(labels_from='pickles',
                                         label_set='all'),
                     "papers' test_seen_labels.pkl / test_unseen_labels.pkl"))
    summaries, ds = {}, None
    for name, args, source in jobs:
        ds = NUSWideZSLDataset(labels_from=args.pop('labels_from', 'metadata'),
                               **args, **common)
        summaries[name] = _write(ds, paths[name], source)
    write_json(dict(seen=ds.all_seen_classes, unseen=ds.all_unseen_classes),
               paths['split'], indent=1)
    return summaries
