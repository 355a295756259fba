"""Open Images v4 7,186 / 400 annotation files from the official csv files.

Writes, in our ``granzsl_mm.openimages_zsl/v1`` json (``metainfo`` +
``data_list`` of ``img_path`` / ``gt_label`` / ``negative_label``, indices
into seen then unseen classes; every label not listed is unknown):

* ``openimages_zsl_train.json``: the train csv, seen labels only
  (``metainfo.label_set = 'seen'``; rows of other MIDs skipped as BiAM
  does);
* ``openimages_zsl_validation.json`` / ``openimages_zsl_test.json``: all
  7,186 + 400 labels;
* ``split_7186_400.json`` (``split_7186_2594.json`` with ``unseen='all'``):
  ``seen`` / ``unseen``: the class names (display names, made unique by
  their MID where several MIDs share one: ``'Bun (/m/0xyz)'``), so that
  ``model.class_names`` can name this file; ``seen_mids`` / ``unseen_mids``:
  the MIDs.

Images are listed whether or not they were downloaded; the dataset checks
them when it is built.
"""
import os.path as osp
from typing import Dict, Sequence

from ..zsl.openimages_zsl import OPENIMAGES_ANN_FORMAT, OpenImagesZSLDataset
from .output_files import claim_outputs, write_json
from .summary import label_summary

__all__ = ['OPENIMAGES_ZSL_OUTPUTS', 'convert_openimages_zsl']

OPENIMAGES_ZSL_OUTPUTS = dict(
    train='openimages_zsl_train.json',
    validation='openimages_zsl_validation.json',
    test='openimages_zsl_test.json')


def _write(ds: OpenImagesZSLDataset, path: str) -> dict:
    data_list = [dict(img_path=osp.relpath(d['img_path'], ds.image_folder),
                      gt_label=d['gt_label'],
                      negative_label=d['negative_label'])
                 for d in ds.data_list]
    meta = dict(format=OPENIMAGES_ANN_FORMAT, dataset='Open Images v4',
                split=ds.split, label_set=ds.label_set, unseen=ds.unseen,
                source=f'{ds.split}-annotations-human-imagelabels.csv',
                labels='gt_label: positive indices into seen_classes + '
                'unseen_classes; negative_label: verified negatives; every '
                'other label is unknown (-1)', **ds.split_info)
    write_json(dict(metainfo=meta, data_list=data_list), path)
    return dict(label_summary([d['gt_label'] for d in data_list],
                              ds.metainfo['classes']), path=path)


def convert_openimages_zsl(root: str, out_dir: str,
                           splits: Sequence[str] = ('train', 'test'),
                           unseen: str = 'top400',
                           overwrite: bool = False) -> Dict[str, dict]:
    """Write our Open Images zero-shot annotation files.

    Args:
        root (str): Open Images root (``2018_04/`` with the split files and
            ``<split>/<split>-annotations-human-imagelabels.csv``).
        out_dir (str): Output folder (names: ``OPENIMAGES_ZSL_OUTPUTS``).
        splits (Sequence[str]): Any of ``'train'``, ``'validation'``,
            ``'test'``.
        unseen (str): ``'top400'`` or ``'all'`` (2,594).
        overwrite (bool): Replace existing output files.

    Returns:
        dict: Output name -> :func:`label_summary` dict with its ``path``.
    """
    bad = [s for s in splits if s not in OPENIMAGES_ZSL_OUTPUTS]
    if bad or not splits:
        raise ValueError(f'splits must be a non-empty subset of '
                         f'{list(OPENIMAGES_ZSL_OUTPUTS)}, got {splits}')
    split_name = 'split_7186_400.json' if unseen == 'top400' else \
        'split_7186_2594.json'
    paths = {s: osp.join(out_dir, OPENIMAGES_ZSL_OUTPUTS[s]) for s in splits}
    paths['split'] = osp.join(out_dir, split_name)
    claim_outputs(paths.values(), out_dir, overwrite)
    summaries, ds = {}, None
    for split in splits:
        ds = OpenImagesZSLDataset(
            data_root=root, split=split, unseen=unseen,
            label_set='seen' if split == 'train' else 'all',
            check_images='none', serialize_data=False)
        summaries[split] = _write(ds, paths[split])
    info = ds.split_info
    # seen / unseen: the class names, the dataset's (read as a model's
    # class_names by read_class_names); the MIDs beside them
    write_json(dict(seen=info['seen_classes'], unseen=info['unseen_classes'],
                    seen_mids=info['seen_mids'],
                    unseen_mids=info['unseen_mids']), paths['split'], indent=1)
    return summaries
