"""MS-COCO 2014 48 / 17 zero-shot files from the official instances jsons.

* training set (``train``): train2014 images with no object of an unseen
  class, annotations of the seen classes only (images left without any seen
  label are dropped unless ``keep_empty_train``);
* ZSL test set (``zsl``): val2014 images with at least one unseen object,
  annotations of the unseen classes only;
* GZSL test set (``gzsl``): val2014 images with at least one seen or unseen
  object, annotations of the 65 classes.

All 80 categories stay listed (so ``cls_ids.pickle`` indices stay valid);
images and annotations are sorted by id, so the output is deterministic.
The papers' test sets are their released ``instances_val2014_*_48_17.json``:
a rebuilt split follows the same rule but is not guaranteed identical to them
(their image selection is not documented to the image).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..descriptions.dataset import read_class_split
from ..zsl.coco_instances import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    load_instances,
)
from .output_files import claim_outputs, write_json
from .summary import label_summary

__all__ = ['COCO_ZSL_OUTPUTS', 'coco_zsl_subsets', 'convert_coco_zsl']

COCO_ZSL_OUTPUTS = dict(
    train='instances_train2014_seen_48_17.json',
    zsl='instances_val2014_unseen_48_17.json',
    gzsl='instances_val2014_gzsi_48_17.json',
    split='split_48_17.json')


def coco_zsl_subsets(instances: dict, seen_ids: Sequence[int],
                     unseen_ids: Sequence[int], subset: str,
                     keep_segmentation: bool = False,
                     keep_empty_train: bool = False
                     ) -> Tuple[dict, List[List[int]]]:
    """One zero-shot subset of an instances dict.

    Args:
        instances (dict): A loaded instances json (not modified).
        seen_ids (Sequence[int]): Category ids of the seen classes (order =
            label order).
        unseen_ids (Sequence[int]): Category ids of the unseen classes.
        subset (str): ``'train'``, ``'zsl'`` or ``'gzsl'``.
        keep_segmentation (bool): Keep the polygons / RLE (large).
        keep_empty_train (bool): Keep training images without a seen label.

    Returns:
        tuple[dict, list[list[int]]]: The subset (instances format) and the
        positive label indices of each kept image (in the subset's label
        order: seen, unseen, or seen then unseen).
    """
    if subset not in ('train', 'zsl', 'gzsl'):
        raise ValueError(f"subset must be 'train', 'zsl' or 'gzsl', got "
                         f'{subset!r}')
    label_ids = {'train': list(seen_ids), 'zsl': list(unseen_ids),
                 'gzsl': list(seen_ids) + list(unseen_ids)}[subset]
    label_of = {c: i for i, c in enumerate(label_ids)}
    forbidden: Set[int] = set(unseen_ids) if subset == 'train' else set()
    cats_of: Dict[int, Set[int]] = {im['id']: set()
                                    for im in instances['images']}
    for ann in instances['annotations']:
        cats_of[ann['image_id']].add(ann['category_id'])
    drop_empty = not (subset == 'train' and keep_empty_train)
    kept = [im for im in sorted(instances['images'], key=lambda i: i['id'])
            if not cats_of[im['id']] & forbidden and
            (cats_of[im['id']] & label_of.keys() or not drop_empty)]
    kept_ids = {im['id'] for im in kept}
    anns = []
    for ann in sorted(instances['annotations'], key=lambda a: a['id']):
        if ann['image_id'] in kept_ids and ann['category_id'] in label_of:
            ann = dict(ann)
            if not keep_segmentation:
                ann.pop('segmentation', None)
            anns.append(ann)
    labels = [sorted(label_of[c] for c in cats_of[im['id']] if c in label_of)
              for im in kept]
    out = dict(info=instances.get('info', {}),
               licenses=instances.get('licenses', []), images=kept,
               annotations=anns,
               categories=sorted(instances['categories'],
                                 key=lambda c: c['id']))
    return out, labels


def _split_ids(instances: dict, seen: Sequence[str],
               unseen: Sequence[str], source: str) -> Tuple[List[int],
                                                            List[int]]:
    by_name = {c['name']: c['id'] for c in instances['categories']}
    unknown = [n for n in list(seen) + list(unseen) if n not in by_name]
    if unknown:
        raise ValueError(f'class split ({source}) names classes the '
                         f'annotation has no category for: {unknown}')
    return [by_name[n] for n in seen], [by_name[n] for n in unseen]


def convert_coco_zsl(train_ann: Optional[str], val_ann: Optional[str],
                     out_dir: str, split_file: Optional[str] = None,
                     keep_segmentation: bool = False,
                     keep_empty_train: bool = False,
                     overwrite: bool = False) -> Dict[str, dict]:
    """Write the training / ZSL / GZSL files and our split json.

    Args:
        train_ann (str, optional): Official ``instances_train2014.json``
            (skipped when None).
        val_ann (str, optional): Official ``instances_val2014.json``.
        out_dir (str): Output folder (file names: ``COCO_ZSL_OUTPUTS``).
        split_file (str, optional): ``cls_ids.pickle`` or our split json;
            default the 48 / 17 split of Bansal et al.
        keep_segmentation (bool): Keep segmentation masks in the output.
        keep_empty_train (bool): Keep training images without seen labels.
        overwrite (bool): Replace existing output files.

    Returns:
        dict: Output name -> :func:`label_summary` dict with its ``path``.
    """
    if split_file:
        seen, unseen = read_class_split(split_file, COCO80_CLASSES)
    else:
        seen, unseen = list(COCO_SEEN_48), list(COCO_UNSEEN_17)
    source = split_file or 'Bansal et al. 48/17'
    jobs = [('train', train_ann, seen)] if train_ann else []
    if val_ann:
        jobs += [('zsl', val_ann, unseen), ('gzsl', val_ann, seen + unseen)]
    if not jobs:
        raise ValueError('pass train_ann and/or val_ann')
    paths = {name: osp.join(out_dir, COCO_ZSL_OUTPUTS[name])
             for name in [j[0] for j in jobs] + ['split']}
    claim_outputs(paths.values(), out_dir, overwrite)
    summaries: Dict[str, dict] = {}
    loaded: Dict[str, dict] = {}
    for name, ann_file, classes in jobs:
        if ann_file not in loaded:
            loaded.clear()  # hold one official file at a time
            loaded[ann_file] = load_instances(ann_file).dataset
        instances = loaded[ann_file]
        seen_ids, unseen_ids = _split_ids(instances, seen, unseen, source)
        subset, labels = coco_zsl_subsets(instances, seen_ids, unseen_ids,
                                          name, keep_segmentation,
                                          keep_empty_train)
        write_json(subset, paths[name])
        summaries[name] = dict(label_summary(labels, classes),
                               path=paths[name])
    write_json(dict(seen=seen, unseen=unseen), paths['split'], indent=1)
    return summaries
