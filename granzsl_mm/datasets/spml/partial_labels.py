"""Partial labels: a fixed share of every image's labels hidden at random.

The partial-label setting of DualCoOp (Sun et al., NeurIPS 2022; reference
``sunxm2357/DualCoOp`` @ 49e71d7, ``train.py`` with ``-pp``): each
label of each training image, positive or negative, stays known with
probability ``known_proportion`` and becomes unknown (-1) otherwise,
independently (``dataloaders/pascal_voc.py`` / ``coco_detection.py`` /
``nus_wide.py``)::

    rand_tensor = torch.rand(len(self.image_list), len(self.classnames))
    mask = (rand_tensor < partial).long()
    target = mask * target + (1 - mask) * -1

drawn once from torch's default generator when the dataset is built (the
reference seeds nothing and saves the mask as
``Annotations/partial_label_<p>.pt``, loaded again with ``--mask_file``).
Here the draw comes from a ``torch.Generator`` seeded with ``seed``: the
same numbers as the reference's after ``torch.manual_seed(seed)`` on CPU,
and the same mask in every run and worker. A mask saved by the reference
(``mask_file``, ``[N, 1, C]`` 0 / 1) is read through the safe loader
instead. Its loss leaves the unknown entries out
(:func:`~granzsl_mm.models.losses.functional.dual_asymmetric_loss`).
"""
import copy
from typing import List, Optional, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset as MMEngineBaseDataset
from mmpretrain.datasets import BaseDataset

from granzsl_mm.registry import DATASETS
from granzsl_mm.utils.label_matrix import NEGATIVE, POSITIVE, UNKNOWN
from granzsl_mm.utils.safe_checkpoint import safe_torch_load

from .protocol import full_label_rows, source_dataset

__all__ = ['known_label_mask', 'read_reference_mask', 'hide_labels',
           'PartialLabelDataset']


def known_label_mask(num_images: int, num_classes: int,
                     known_proportion: float, seed: int = 0) -> np.ndarray:
    """DualCoOp's draw: True where a label stays known.

    Args:
        num_images (int): Rows (images, in the dataset's order).
        num_classes (int): Columns (classes).
        known_proportion (float): Probability that a label stays known
            (the reference's ``partial``, ``-pp``), in ``(0, 1]``.
        seed (int): Seed of the CPU ``torch.Generator``.

    Returns:
        np.ndarray: ``[num_images, num_classes]`` bool.
    """
    if not 0.0 < known_proportion <= 1.0:
        raise ValueError(f'known_proportion must lie in (0, 1], got '
                         f'{known_proportion}')
    generator = torch.Generator().manual_seed(int(seed))
    draw = torch.rand(num_images, num_classes, generator=generator)
    return (draw < known_proportion).numpy()


def read_reference_mask(path: str, num_images: int,
                        num_classes: int) -> np.ndarray:
    """A mask the reference saved (``partial_label_<p>.pt``).

    Args:
        path (str): The file (a ``[N, k, C]`` or ``[N, C]`` tensor of 0 /
            1). Its rows follow the reference's image order: VOC's
            ``trainval.txt`` (sorted ids, as our reader); COCO's
            ``imgToAnns`` order differs from ours (sorted ids), so a COCO
            mask applies to other images than the reference's.
        num_images (int): Images of the dataset it must fit.
        num_classes (int): Its classes.

    Returns:
        np.ndarray: ``[N, C]`` bool, True where known.

    Raises:
        ValueError: Not a tensor, another shape, or values other than 0 / 1.
    """
    mask = safe_torch_load(path, map_location='cpu')
    if not torch.is_tensor(mask):
        raise ValueError(f'{path}: holds a {type(mask).__name__}, not the '
                         'mask tensor DualCoOp saves')
    if mask.dim() == 3:  # [N, 1, C] (VOC, NUS-WIDE); [N, 3, C] (COCO's
        # three object-size rows, one mask stacked thrice)
        if not bool((mask == mask[:, :1]).all()):
            raise ValueError(f'{path}: the rows of its [N, k, C] mask '
                             'differ; DualCoOp stacks one mask')
        mask = mask[:, 0]
    if tuple(mask.shape) != (num_images, num_classes):
        raise ValueError(f'{path}: mask of shape {tuple(mask.shape)} for a '
                         f'dataset of {num_images} images x {num_classes} '
                         'classes (a mask of another split or dataset?)')
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f'{path}: mask values other than 0 / 1')
    return mask.bool().numpy()


def hide_labels(labels: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``mask * target + (1 - mask) * -1``: unknown where not known.

    Args:
        labels (np.ndarray): ``[N, C]`` full labels in {1, 0, -1}.
        known (np.ndarray): ``[N, C]`` bool mask.

    Returns:
        np.ndarray: ``[N, C]`` int8 observed labels (labels already unknown
        stay unknown).
    """
    labels = np.asarray(labels)
    if labels.shape != known.shape:
        raise ValueError(f'labels {labels.shape} and mask {known.shape} '
                         'differ in shape')
    return np.where(known, labels, UNKNOWN).astype(np.int8)


@DATASETS.register_module()
class PartialLabelDataset(BaseDataset):
    """A fully labelled multi-label dataset with labels hidden at random.

    Args:
        dataset (dict | BaseDataset): The full-label training set (items
            with ``img_path`` and ``gt_score`` or ``gt_label``); its
            pipeline is not used.
        known_proportion (float): Share of labels kept (DualCoOp's ``-pp``;
            1: nothing hidden).
        seed (int): Seed of the mask's draw (see the module docstring).
        mask_file (str, optional): A mask saved by the reference instead of
            the draw (``Annotations/partial_label_<p>.pt``).
        pipeline (Sequence): Transforms of this view.
        **kwargs: ``BaseDataset`` arguments (``indices``, ``test_mode``...).
    """

    def __init__(self,
                 dataset: Union[dict, MMEngineBaseDataset],
                 known_proportion: float,
                 seed: int = 0,
                 mask_file: Optional[str] = None,
                 pipeline=(),
                 **kwargs) -> None:
        if not 0.0 < known_proportion <= 1.0:
            raise ValueError(f'known_proportion must lie in (0, 1], got '
                             f'{known_proportion}')
        self.source = dataset = source_dataset(dataset)
        self.known_proportion = known_proportion
        self.seed = seed
        self.mask_file = mask_file
        super().__init__(ann_file='', metainfo=copy.deepcopy(
            dict(dataset.metainfo)), pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Items: ``img_path``, ``gt_label`` (known positives),
        ``unknown_label`` (hidden or already unknown) and ``true_label``
        (all positives, for analysis only)."""
        paths, labels = full_label_rows(self.source)
        if self.mask_file is not None:
            known = read_reference_mask(self.mask_file, *labels.shape)
        else:
            known = known_label_mask(*labels.shape, self.known_proportion,
                                     self.seed)
        observed = hide_labels(labels, known)
        self.source = None  # read; its items are not needed any more
        return [dict(img_path=path,
                     gt_label=np.flatnonzero(obs == POSITIVE).tolist(),
                     unknown_label=np.flatnonzero(obs == UNKNOWN).tolist(),
                     true_label=np.flatnonzero(full == POSITIVE).tolist())
                for path, obs, full in zip(paths, observed, labels)]

    def get_data_info(self, idx: int) -> dict:
        """The item with ``gt_score`` (float32 in {1, 0, -1}) expanded."""
        info = super().get_data_info(idx)
        score = np.full(len(self.metainfo['classes']), NEGATIVE,
                        dtype=np.float32)
        score[np.asarray(info['unknown_label'], dtype=np.int64)] = UNKNOWN
        score[np.asarray(info['gt_label'], dtype=np.int64)] = POSITIVE
        info['gt_score'] = score
        return info
