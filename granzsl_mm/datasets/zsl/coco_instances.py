"""COCO instances-format annotation files: loading with clear errors.

Also re-exports the MS-COCO 2014 category names and the 48 / 17 seen /
unseen split of Bansal et al. (ECCV 2018) used by the zero-shot multi-label
papers (their home: :mod:`granzsl_mm.structures.class_lists`).
"""
import contextlib
import io
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Set

from pycocotools.coco import COCO

from granzsl_mm.structures.class_lists import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
)

from .annotation_file import load_json_file

__all__ = [
    'COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17', 'load_instances',
    'category_names', 'image_category_ids', 'check_split_names',
    'instance_items'
]


# The fields the readers use, per list of a COCO instances file.
_REQUIRED_FIELDS = {'categories': ('id', 'name'),
                    'images': ('id', 'file_name'),
                    'annotations': ('image_id', 'category_id')}


def load_instances(ann_file: str) -> COCO:
    """Load and validate a COCO instances json.

    Checks: the file exists and is JSON with ``images``, ``annotations`` and
    ``categories`` lists whose entries have the fields the readers use;
    category names are unique; every annotation's
    ``category_id`` is a listed category and its ``image_id`` a listed image.

    Args:
        ann_file (str): Path of the json.

    Returns:
        pycocotools.coco.COCO: The indexed annotation.
    """
    data = load_json_file(ann_file)
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(data, dict) or
               not isinstance(data.get(k), list)]
    if missing:
        raise ValueError(f'{ann_file} is not a COCO instances file: missing '
                         f'list(s) {missing}')
    for key, fields in _REQUIRED_FIELDS.items():
        for index, item in enumerate(data[key]):
            absent = [f for f in fields if not isinstance(item, dict)
                      or f not in item]
            if absent:
                raise ValueError(
                    f'{ann_file}: "{key}"[{index}] has no {absent[0]!r} '
                    f'field (every entry of "{key}" needs {list(fields)}); '
                    'is this a COCO instances file?')
    cat_ids = {c['id'] for c in data['categories']}
    names = [c['name'] for c in data['categories']]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'{ann_file}: category names listed twice: {dup}')
    img_ids = {im['id'] for im in data['images']}
    bad_cat: Dict[int, int] = defaultdict(int)
    bad_img: Dict[int, int] = defaultdict(int)
    for ann in data['annotations']:
        if ann['category_id'] not in cat_ids:
            bad_cat[ann['category_id']] += 1
        if ann['image_id'] not in img_ids:
            bad_img[ann['image_id']] += 1
    if bad_cat:
        raise ValueError(
            f'{ann_file}: {sum(bad_cat.values())} annotations have category '
            f'ids that are not in "categories": {sorted(bad_cat)[:20]} '
            f'(known ids: {sorted(cat_ids)[:20]}...)')
    if bad_img:
        raise ValueError(
            f'{ann_file}: {sum(bad_img.values())} annotations refer to image '
            f'ids that are not in "images": {sorted(bad_img)[:20]}')
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints
        coco.createIndex()
    return coco


def category_names(coco: COCO) -> Dict[str, int]:
    """Category name -> id."""
    return {c['name']: c['id'] for c in coco.dataset['categories']}


def image_category_ids(coco: COCO) -> Dict[int, Set[int]]:
    """Image id -> set of category ids annotated on it (every image listed).

    Args:
        coco (COCO): Annotation.

    Returns:
        dict[int, set[int]]: Category ids per image id (empty set when the
        image has no annotation).
    """
    out: Dict[int, Set[int]] = {im['id']: set() for im in
                                coco.dataset['images']}
    for ann in coco.dataset['annotations']:
        out[ann['image_id']].add(ann['category_id'])
    return out


def check_split_names(split_names: Sequence[str], coco: COCO,
                      source: str) -> List[int]:
    """Category ids of the split's classes; one error lists every name the
    annotation does not have.

    Args:
        split_names (Sequence[str]): Class names (seen then unseen).
        coco (COCO): Annotation.
        source (str): What the names came from (for the message).

    Returns:
        list[int]: Category id of each name.
    """
    by_name = category_names(coco)
    unknown = [n for n in split_names if n not in by_name]
    if unknown:
        raise ValueError(
            f'class split ({source}) names classes the annotation has no '
            f'category for: {unknown}; annotation categories: '
            f'{sorted(by_name)}')
    return [by_name[n] for n in split_names]


def instance_items(coco: COCO, cat_ids: Sequence[int], img_dir: str,
                   images: Optional[Sequence[dict]] = None) -> List[dict]:
    """Raw dataset items of an instances file: an image's positives are the
    labels of the categories of its annotations (crowd ones included).

    Args:
        coco (COCO): Annotation.
        cat_ids (Sequence[int]): Category id of each label, in label order
            (see :func:`check_split_names`); other categories are ignored.
        img_dir (str): Image folder, joined before each ``file_name``.
        images (Sequence[dict], optional): The images, in item order;
            default the file's order.

    Returns:
        list[dict]: ``img_path``, ``positives`` (sorted label indices),
        ``unknowns`` (empty: COCO labels are exhaustive) and ``img_id``.
    """
    label_of = {cat: i for i, cat in enumerate(cat_ids)}
    cats_per_image = image_category_ids(coco)
    items = []
    for img in coco.dataset['images'] if images is None else images:
        labels = sorted(label_of[c] for c in cats_per_image[img['id']]
                        if c in label_of)
        items.append(dict(img_path=osp.join(img_dir, img['file_name']),
                          positives=labels, unknowns=[], img_id=img['id']))
    return items
