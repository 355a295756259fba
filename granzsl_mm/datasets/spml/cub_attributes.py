"""CUB-200-2011 attribute reader (312 binary attributes; SPML sets).

The official ``CUB_200_2011`` release (Wah et al. 2011), as the SPML
references format it (Cole et al.'s ``preproc/format_cub.py``, copied by
Zhou et al. and VLPL):

* ``images.txt``: ``<image_id> <file name>`` (11,788 images), the image
  order; the image is ``images/<file name>``;
* ``train_test_split.txt``: ``<image_id> <is_training_image>`` (5,994 /
  5,794); the references train / validate on 1 and test on 0;
* ``attributes.txt``: ``<attribute_id> <name>`` (312), the label order. The
  official archive has it next to the ``CUB_200_2011`` folder; it is also
  looked for in ``attributes/`` and the root;
* ``attributes/image_attribute_labels.txt``: ``<image_id> <attribute_id>
  <is_present> <certainty_id> <time>`` per image and attribute.

As in the references, an attribute is positive when ``is_present`` is 1 and
negative otherwise, whatever its certainty (1 not visible, 2 guessing, 3
probably, 4 definitely); ``min_certainty`` optionally turns the entries
below a certainty into unknowns. No image is dropped by default.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from granzsl_mm.registry import DATASETS

from ..zsl.zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['CUB_NUM_ATTRIBUTES', 'read_cub_id_file', 'find_cub_attributes',
           'read_cub_attribute_labels', 'CUBAttributeDataset']

CUB_NUM_ATTRIBUTES = 312
SPLITS = ('train', 'test')


def read_cub_id_file(path: str) -> Dict[int, str]:
    """Read an ``<id> <value>`` file (``images.txt``, ``attributes.txt``,
    ``train_test_split.txt``).

    Returns:
        dict: id -> value, in file order.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CUB file not found: {path}')
    out: Dict[int, str] = {}
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            parts = line.split(maxsplit=1)
            if not parts:
                continue
            if len(parts) != 2 or not parts[0].isdigit():
                raise ValueError(f'{path}:{line_no}: expected "<id> <value>",'
                                 f' got {line.strip()!r}')
            key = int(parts[0])
            if key in out:
                raise ValueError(f'{path}:{line_no}: id {key} listed twice')
            out[key] = parts[1].strip()
    return out


def find_cub_attributes(root: str) -> str:
    """Path of ``attributes.txt`` (next to ``root``, in ``root/attributes``
    or in ``root``)."""
    candidates = [osp.join(root, 'attributes', 'attributes.txt'),
                  osp.join(root, 'attributes.txt'),
                  osp.join(osp.dirname(osp.normpath(root)), 'attributes.txt')]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'CUB attributes.txt not found; looked for '
                            f'{candidates}')


def read_cub_attribute_labels(path: str, image_ids: List[int],
                              attribute_ids: List[int]
                              ) -> Tuple[np.ndarray, np.ndarray]:
    """Read ``image_attribute_labels.txt``.

    Args:
        path (str): The file.
        image_ids (list[int]): Images (rows, in this order).
        attribute_ids (list[int]): Attributes (columns, in this order).

    Returns:
        tuple[np.ndarray, np.ndarray]: uint8 ``is_present`` and
        ``certainty_id`` matrices ``[len(image_ids), len(attribute_ids)]``.

    Raises:
        ValueError: A malformed line, unknown ids, a value out of range, a
            pair listed twice or missing.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CUB file not found: {path}')
    row_of = {k: i for i, k in enumerate(image_ids)}
    col_of = {k: i for i, k in enumerate(attribute_ids)}
    shape = (len(image_ids), len(attribute_ids))
    present = np.zeros(shape, np.uint8)
    certainty = np.zeros(shape, np.uint8)  # 0 = not listed
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            where = f'{path}:{line_no}'
            if len(parts) < 5:
                raise ValueError(f'{where}: expected "<image_id> '
                                 '<attribute_id> <is_present> <certainty_id> '
                                 f'<time>", got {line.strip()!r}')
            try:
                img, att, is_present, cert = (int(v) for v in parts[:4])
            except ValueError:
                raise ValueError(f'{where}: non-integer ids or flags in '
                                 f'{line.strip()!r}') from None
            if img not in row_of or att not in col_of:
                raise ValueError(f'{where}: unknown image {img} or attribute '
                                 f'{att}')
            if is_present not in (0, 1) or not 1 <= cert <= 4:
                raise ValueError(f'{where}: is_present must be 0/1 and '
                                 f'certainty_id 1-4, got {is_present}, {cert}')
            r, c = row_of[img], col_of[att]
            if certainty[r, c]:
                raise ValueError(f'{where}: image {img} attribute {att} '
                                 'listed twice')
            present[r, c], certainty[r, c] = is_present, cert
    missing = np.argwhere(certainty == 0)
    if len(missing):
        r, c = missing[0]
        raise ValueError(f'{path}: {len(missing)} image-attribute pairs are '
                         f'missing, e.g. image {image_ids[r]} attribute '
                         f'{attribute_ids[c]}')
    return present, certainty


@DATASETS.register_module()
class CUBAttributeDataset(ZSLMultiLabelDataset):
    """CUB-200-2011 images with their 312 binary attributes as labels.

    Args:
        data_root (str): The ``CUB_200_2011`` folder.
        split (str): ``'train'`` (``is_training_image`` 1: the SPML train /
            val source) or ``'test'`` (0).
        min_certainty (int, optional): Entries with a lower
            ``certainty_id`` become unknown (-1); None (default, the
            references): certainty is ignored.
        empty_images (str): ``'keep'`` (default, the references) or
            ``'drop'`` images without a present attribute.
        data_prefix (str | dict): Image folder (default ``'images'``).
        num_attributes (int, optional): Expected number of attributes
            (312; None: any).
        **kwargs: ``ZSLMultiLabelDataset`` / ``BaseDataset`` arguments.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 min_certainty: Optional[int] = None,
                 empty_images: str = 'keep',
                 data_prefix='images',
                 num_attributes: Optional[int] = CUB_NUM_ATTRIBUTES,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if min_certainty is not None and not 1 <= min_certainty <= 4:
            raise ValueError(f'min_certainty must be 1-4 or None, got '
                             f'{min_certainty}')
        attributes = read_cub_id_file(find_cub_attributes(data_root))
        if num_attributes is not None and len(attributes) != num_attributes:
            raise ValueError(f'attributes.txt lists {len(attributes)} '
                             f'attributes, expected {num_attributes}')
        self.split = split
        self.min_certainty = min_certainty
        self.attribute_ids = list(attributes)
        super().__init__(seen_classes=list(attributes.values()),
                         unseen_classes=(), label_set='all',
                         empty_images=empty_images, ann_file='',
                         data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def load_raw_items(self) -> List[dict]:
        """Images of the split in ``images.txt`` order, with attributes."""
        root = self.data_root
        images = read_cub_id_file(osp.join(root, 'images.txt'))
        split = read_cub_id_file(osp.join(root, 'train_test_split.txt'))
        if set(split) != set(images):
            raise ValueError('images.txt and train_test_split.txt list '
                             'different image ids')
        if set(split.values()) - {'0', '1'}:
            raise ValueError('train_test_split.txt: is_training_image must '
                             'be 0 or 1')
        want = '1' if self.split == 'train' else '0'
        all_ids = list(images)
        present, certainty = read_cub_attribute_labels(
            osp.join(root, 'attributes', 'image_attribute_labels.txt'),
            all_ids, self.attribute_ids)
        rows = [r for r, i in enumerate(all_ids) if split[i] == want]
        image_ids = [all_ids[r] for r in rows]
        present, certainty = present[rows], certainty[rows]
        unknown = np.zeros_like(present, dtype=bool)
        if self.min_certainty is not None:
            unknown = certainty < self.min_certainty
        img_dir = self.data_prefix.get('img_path', '') or ''
        items = []
        for r, image_id in enumerate(image_ids):
            items.append(dict(
                img_path=osp.join(img_dir, images[image_id]),
                positives=np.flatnonzero((present[r] == 1)
                                         & ~unknown[r]).tolist(),
                unknowns=np.flatnonzero(unknown[r]).tolist()))
        return items
