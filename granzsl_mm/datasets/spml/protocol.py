"""Single-positive multi-label (SPML) protocol as a dataset wrapper.

The protocol of Cole et al. ("Multi-Label Learning from Single Positive
Labels", CVPR 2021; reference code ``elijahcole/single-positive-multi-label``):

* the *official train split* is split into train (80%) and validation (20%)
  with a seeded permutation (seed 1200);
* over the whole official train split, in its listed order, one positive
  label per image is kept, chosen uniformly at random with a seeded
  generator (seed 1200); every other label becomes unknown (-1);
* validation uses the full labels by default (the reference's
  ``val_set_variant='clean'``) or the single positives;
* the test set is the official validation split with full labels.

The random choice replays the reference generator draw for draw (NumPy
``RandomState``: per image, a shuffle of the positive indices, then one of
the negative indices), so on the same image order (see the readers) the
observed labels equal the reference's ``formatted_train_labels_obs.npy``.

Optionally, VLPL-style pseudo-labels are attached to the training items as
``soft_targets`` (NaN where none) from a cache file, see
:mod:`granzsl_mm.datasets.spml.pseudo_label_file`.
"""
import copy
from typing import List, Optional, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset as MMEngineBaseDataset
from mmpretrain.datasets import BaseDataset

from granzsl_mm.registry import DATASETS
from granzsl_mm.utils.label_matrix import NEGATIVE, POSITIVE, UNKNOWN

from .pseudo_label_file import load_pseudo_labels, pseudo_label_key

__all__ = ['SPML_SPLITS', 'VAL_LABEL_OPTIONS', 'observe_single_positives',
           'train_val_split', 'source_dataset', 'full_label_rows',
           'SPMLDataset']

SPML_SPLITS = ('train', 'val', 'test')
VAL_LABEL_OPTIONS = ('full', 'single')


def observe_single_positives(labels: np.ndarray, num_positives: int = 1,
                             seed: int = 1200) -> np.ndarray:
    """Keep ``num_positives`` random positives per row; the rest unknown.

    Args:
        labels (np.ndarray): ``[N, C]`` full labels in {1, 0, -1} (ours).
        num_positives (int): Positives kept per image (1 in the protocol;
            all of a row's positives when it has fewer).
        seed (int): Seed of the ``np.random.RandomState`` (1200).

    Returns:
        np.ndarray: ``[N, C]`` int8 observed labels: 1 for kept positives,
        -1 elsewhere.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f'labels must be [N, C], got {labels.shape}')
    if num_positives < 1:
        raise ValueError(f'num_positives must be >= 1, got {num_positives}')
    rng = np.random.RandomState(seed)
    observed = np.full(labels.shape, UNKNOWN, dtype=np.int8)
    for i, row in enumerate(labels):
        pos = np.flatnonzero(row == POSITIVE)
        rng.shuffle(pos)
        observed[i, pos[:num_positives]] = POSITIVE
        # The reference also shuffles the negatives (it observes none of
        # them); the draw is replayed to keep the generator in step.
        rng.shuffle(np.flatnonzero(row == NEGATIVE))
    return observed


def train_val_split(num: int, val_fraction: float = 0.2,
                    seed: int = 1200) -> Tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``num`` items into train and validation indices.

    ``round(val_fraction * num)`` items go to validation: the last ones of
    a ``RandomState(seed)`` permutation (the reference's split); both index
    sets are sorted.

    Args:
        num (int): Number of items.
        val_fraction (float): Fraction in [0, 1).
        seed (int): Permutation seed (1200).

    Returns:
        tuple[np.ndarray, np.ndarray]: Train and validation indices.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f'val_fraction must be in [0, 1), got '
                         f'{val_fraction}')
    num_val = int(np.round(val_fraction * num))
    perm = np.random.RandomState(seed).permutation(num)
    return np.sort(perm[:num - num_val]), np.sort(perm[num - num_val:])


def source_dataset(dataset: Union[dict, MMEngineBaseDataset]
                   ) -> MMEngineBaseDataset:
    """The full-label dataset a label protocol wraps, built from its config
    (without a pipeline or serialisation: it is read once, by the wrapper's
    ``load_data_list``) or given built.

    Args:
        dataset (dict | BaseDataset): Its config or the dataset.

    Returns:
        BaseDataset: The dataset.

    Raises:
        TypeError: Neither a config dict nor an mmengine ``BaseDataset``.
    """
    if isinstance(dataset, dict):
        dataset = dict(copy.deepcopy(dataset), pipeline=[])
        cls = dataset.get('type')
        cls = DATASETS.get(cls) if isinstance(cls, str) else cls
        if isinstance(cls, type) and issubclass(cls, MMEngineBaseDataset):
            dataset['serialize_data'] = False
        dataset = DATASETS.build(dataset)
    if not isinstance(dataset, MMEngineBaseDataset):
        raise TypeError('dataset must be a config dict or an mmengine '
                        f'BaseDataset, got {type(dataset).__name__}')
    return dataset


def full_label_rows(source: MMEngineBaseDataset
                    ) -> Tuple[List[str], np.ndarray]:
    """Image paths and the ``[N, C]`` int8 labels of a full-label dataset
    (its ``gt_score`` rows, or its ``gt_label`` positives with every other
    class negative).

    Args:
        source (BaseDataset): The dataset (:func:`source_dataset`).

    Returns:
        tuple: ``(paths, labels)``.
    """
    num_classes = len(source.metainfo['classes'])
    paths, rows = [], []
    for i in range(len(source)):
        info = source.get_data_info(i)
        score = info.get('gt_score')
        if score is None:
            score = np.full(num_classes, NEGATIVE, dtype=np.float32)
            score[np.asarray(info['gt_label'], dtype=np.int64)] = POSITIVE
        rows.append(np.asarray(score))
        paths.append(info['img_path'])
    labels = np.stack(rows) if rows else np.zeros((0, num_classes))
    return paths, labels.astype(np.int8)


@DATASETS.register_module()
class SPMLDataset(BaseDataset):
    """Single-positive view of a fully labelled multi-label dataset.

    Args:
        dataset (dict | BaseDataset): The full-label dataset: the official
            train split for ``split='train'``/``'val'``, the official val
            split for ``'test'``. Its items need ``img_path`` and
            ``gt_score`` (or ``gt_label``); its pipeline is not used and it
            is released once read (``source_data_root`` stays).
        split (str): ``'train'``, ``'val'`` (the seeded 80/20 split of the
            wrapped set) or ``'test'`` (all of it, full labels).
        val_fraction (float): Validation share of the official train split.
        split_seed (int): Seed of the train/validation split.
        label_seed (int): Seed of the single-positive choice.
        num_positives (int): Positives kept per training image.
        val_labels (str): ``'full'`` (default; the reference validates on
            clean labels) or ``'single'`` labels in the validation split.
        pseudo_label_file (str, optional): ``.npz`` cache of pseudo-labels
            (training split only): adds ``soft_targets`` to every item.
        pipeline (Sequence): Transforms of this view (pack ``soft_targets``
            with ``PackInputs(algorithm_keys=('soft_targets',))``).
        **kwargs: ``BaseDataset`` arguments (``indices``, ``test_mode``...).
    """

    def __init__(self,
                 dataset: Union[dict, MMEngineBaseDataset],
                 split: str = 'train',
                 val_fraction: float = 0.2,
                 split_seed: int = 1200,
                 label_seed: int = 1200,
                 num_positives: int = 1,
                 val_labels: str = 'full',
                 pseudo_label_file: Optional[str] = None,
                 pipeline=(),
                 **kwargs) -> None:
        if split not in SPML_SPLITS:
            raise ValueError(f'split must be one of {SPML_SPLITS}, got '
                             f'{split!r}')
        if val_labels not in VAL_LABEL_OPTIONS:
            raise ValueError(f'val_labels must be one of {VAL_LABEL_OPTIONS},'
                             f' got {val_labels!r}')
        if pseudo_label_file is not None and split != 'train':
            raise ValueError('pseudo_label_file is for the training split')
        self.source = dataset = source_dataset(dataset)
        self.source_data_root = getattr(dataset, 'data_root', None)
        self.split = split
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.label_seed = label_seed
        self.num_positives = num_positives
        self.val_labels = val_labels
        self.pseudo_label_file = pseudo_label_file
        self.num_without_pseudo = 0
        self.soft_label_store = None
        super().__init__(ann_file='', metainfo=copy.deepcopy(
            dict(dataset.metainfo)), pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Items of the split: ``img_path``, ``gt_label`` (positive indices
        of the labels in use), ``label_kind`` ('single': the others unknown;
        'full': ``unknown_label`` unknown, the others negative),
        ``true_label`` and, with pseudo-labels, ``soft_targets``."""
        paths, labels = full_label_rows(self.source)
        if self.split == 'test':
            keep, observed = np.arange(len(paths)), None
        else:
            observed = observe_single_positives(
                labels, self.num_positives, self.label_seed)
            train_idx, val_idx = train_val_split(
                len(paths), self.val_fraction, self.split_seed)
            keep = train_idx if self.split == 'train' else val_idx
            if self.split == 'val' and self.val_labels == 'full':
                observed = None
        soft = None
        if self.pseudo_label_file is not None:
            soft = load_pseudo_labels(self.pseudo_label_file,
                                      self.metainfo['classes'])['soft_targets']
        root = self.source_data_root
        data_list, missing = [], []
        for i in keep:
            full = labels[i]
            true_pos = np.flatnonzero(full == POSITIVE).tolist()
            item = dict(img_path=paths[i], true_label=true_pos)
            if observed is None:
                item.update(gt_label=true_pos, label_kind='full',
                            unknown_label=np.flatnonzero(
                                full == UNKNOWN).tolist())
            else:
                item.update(gt_label=np.flatnonzero(
                    observed[i] == POSITIVE).tolist(), label_kind='single')
            if soft is not None:
                vec = soft.get(pseudo_label_key(paths[i], root))
                if vec is None:
                    missing.append(paths[i])
                    vec = np.full(labels.shape[1], np.nan, dtype=np.float32)
                item['soft_targets'] = vec
            data_list.append(item)
        if missing:
            raise ValueError(
                f'{self.pseudo_label_file} has no pseudo-labels for '
                f'{len(missing)} of {len(data_list)} training images (e.g. '
                f'{missing[:3]}); regenerate it for this dataset')
        self.source = None  # read; its items are not needed any more
        return data_list

    def set_soft_label_store(self, store) -> None:
        """Serve ``soft_targets`` from a label store (or stop: None).

        Args:
            store (APLLabelStore, optional): ``row(idx)`` gives the soft
                targets of item ``idx`` (NaN = none), read at every access,
                so values written between epochs reach the dataloader
                workers (:mod:`granzsl_mm.datasets.spml.apl_label_store`).
        """
        if store is not None:
            if self.pseudo_label_file is not None:
                raise ValueError('a label store and a pseudo_label_file '
                                 'both give soft_targets: use one')
            shape = (len(self), len(self.metainfo['classes']))
            if tuple(store.shape) != shape:
                raise ValueError(f'label store {tuple(store.shape)} does not '
                                 f'match the dataset {shape}')
        self.soft_label_store = store

    def get_data_info(self, idx: int) -> dict:
        """The item with ``gt_score`` (float32 in {1, 0, -1}) expanded, and
        ``soft_targets`` from the label store when one is set."""
        info = super().get_data_info(idx)
        num_classes = len(self.metainfo['classes'])
        if info['label_kind'] == 'single':
            score = np.full(num_classes, UNKNOWN, dtype=np.float32)
        else:
            score = np.full(num_classes, NEGATIVE, dtype=np.float32)
            score[np.asarray(info['unknown_label'], dtype=np.int64)] = UNKNOWN
        score[np.asarray(info['gt_label'], dtype=np.int64)] = POSITIVE
        info['gt_score'] = score
        if self.soft_label_store is not None:
            info['soft_targets'] = self.soft_label_store.row(idx)
        return info
