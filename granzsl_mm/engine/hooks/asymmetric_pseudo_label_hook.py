"""Zhou et al.'s asymmetric pseudo-labelling (APL) as an mmengine hook.

At the end of every training epoch whose 1-based number is at least
``warmup_epoch`` the hook scores the whole training set (one pass over the
training dataloader, as the reference does: same loader, same transforms,
model in eval mode) and gives, per class, the lowest-scored still-unlabelled
entries their score as soft negative label (see
:mod:`granzsl_mm.datasets.spml.apl_label_store` for the rule and the
counts). The labels live in an :class:`APLLabelStore` file that the training
:class:`~granzsl_mm.datasets.SPMLDataset` serves as ``soft_targets``; the
loss is ``SPMLLoss(mode='apl')`` (EM + APL).

Reference: ``Correr-Zhou/SPML-AckTheUnknown`` ``main.py`` (the hook is
written from its description, see ``docs/spml.md`` for the differences).
"""
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log

from granzsl_mm.datasets.spml.apl_label_store import (
    APLLabelStore,
    apl_counts,
    asymmetric_pseudo_label_step,
)
from granzsl_mm.registry import HOOKS

__all__ = ['AsymmetricPseudoLabelHook']

STATE_KEY = 'apl_label_store'


def _unwrap(dataset):
    while not hasattr(dataset, 'set_soft_label_store') and hasattr(
            dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


@HOOKS.register_module()
class AsymmetricPseudoLabelHook(Hook):
    """Asymmetric pseudo-labelling of the training set (EM + APL).

    Args:
        warmup_epoch (int): APL runs after epochs ``warmup_epoch`` ...
            ``num_epochs`` (1-based; VOC / COCO 5, the reference's default,
            NUS-WIDE 4, CUB 3).
        neg_proportion (float): Share of each class's unlabelled entries
            labelled over the ``num_epochs - warmup_epoch`` steps (0.9).
        num_epochs (int, optional): The reference's ``num_epochs`` in the
            count formula; default the runner's ``max_epochs``.
        store_file (str, optional): The store's ``.npy`` file; default
            ``<work_dir>/apl_label_store_rank<r>.npy`` (one per process:
            every process computes the same update from the gathered scores,
            so no shared file system is needed).

    The store is saved in every checkpoint (``checkpoint['apl_label_store']``,
    a float32 tensor) and restored on resume.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves the epoch

    def __init__(self,
                 warmup_epoch: int = 5,
                 neg_proportion: float = 0.9,
                 num_epochs: Optional[int] = None,
                 store_file: Optional[str] = None) -> None:
        if warmup_epoch < 1:
            raise ValueError(f'warmup_epoch must be >= 1, got {warmup_epoch}')
        if not 0 <= neg_proportion <= 1:
            raise ValueError(f'neg_proportion must be in [0, 1], got '
                             f'{neg_proportion}')
        self.warmup_epoch = warmup_epoch
        self.neg_proportion = neg_proportion
        self.num_epochs = num_epochs
        self.store_file = store_file
        self.store: Optional[APLLabelStore] = None
        self.unknown: Optional[np.ndarray] = None
        self.counts: Optional[np.ndarray] = None
        self._resumed: Optional[np.ndarray] = None

    # set-up -----------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Count the unlabelled entries, make the store, hand it to the
        training dataset (before its workers start)."""
        dataset = _unwrap(runner.train_dataloader.dataset)
        if not hasattr(dataset, 'set_soft_label_store'):
            raise TypeError('AsymmetricPseudoLabelHook needs an SPMLDataset '
                            f'as training set, got {type(dataset).__name__}')
        dataset.set_soft_label_store(None)  # observed labels only
        targets = np.stack([np.asarray(dataset.get_data_info(i)['gt_score'],
                                       dtype=np.float32)
                            for i in range(len(dataset))])
        self.unknown = targets == -1
        num_epochs = self.num_epochs or runner.max_epochs
        self.counts = apl_counts(self.unknown.sum(0), self.neg_proportion,
                                 num_epochs, self.warmup_epoch)
        path = self.store_file or osp.join(
            runner.work_dir, f'apl_label_store_rank{get_rank()}.npy')
        self.store = APLLabelStore.create(path, *targets.shape,
                                          values=self._resumed)
        self._resumed = None
        dataset.set_soft_label_store(self.store)
        print_log(f'APL: {targets.shape[0]} training images, soft negatives '
                  f'per class and step {self.counts.tolist()[:10]}'
                  f'{"..." if len(self.counts) > 10 else ""}, from epoch '
                  f'{self.warmup_epoch} of {num_epochs}; store {path}',
                  logger='current')

    # the step ---------------------------------------------------------------
    def after_train_epoch(self, runner) -> None:
        """Score the training set and label (1-based epoch >= warmup)."""
        epoch = runner.epoch + 1  # runner.epoch is 0-based until after it
        if epoch < self.warmup_epoch or self.store is None:
            return
        preds = self.score_train_set(runner, self.store.shape)
        soft = self.store.read()
        chosen = asymmetric_pseudo_label_step(soft, self.unknown, preds,
                                              self.counts)
        self.store.write(soft)
        runner.message_hub.update_scalar('train/apl_labelled',
                                         int(chosen.sum()))
        print_log(f'APL epoch {epoch}: {int(chosen.sum())} soft negatives '
                  f'added, {int((~np.isnan(soft)).sum())} in total',
                  logger='current')

    @staticmethod
    def score_train_set(runner, shape) -> np.ndarray:
        """Sigmoid scores ``[N, C]`` of every training item, by index.

        One pass over ``runner.train_dataloader`` through the model's
        ``test_step`` (eval mode, no gradients), gathered over processes.
        """
        model = runner.model
        was_training = model.training
        model.eval()
        indices, scores = [], []
        try:
            with torch.no_grad():
                for data in runner.train_dataloader:
                    for sample in model.test_step(data):
                        if 'sample_idx' not in sample:
                            raise KeyError(
                                'APL needs each sample\'s `sample_idx`: keep '
                                'it in PackInputs meta_keys')
                        indices.append(int(sample.sample_idx))
                        scores.append(sample.pred_score.detach().float()
                                      .cpu().numpy())
        finally:
            model.train(was_training)
        preds = np.full(shape, np.nan, dtype=np.float32)
        for part_idx, part_scores in all_gather_object((indices, scores)):
            if part_idx:
                preds[np.asarray(part_idx)] = np.stack(part_scores)
        missing = np.isnan(preds).all(1)
        if missing.any():
            raise RuntimeError(
                f'APL: {int(missing.sum())} of {shape[0]} training images '
                'were not scored (drop_last=True in the train dataloader?); '
                'the reference scores all of them')
        return preds

    # checkpoints ------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the store's values with the checkpoint."""
        if self.store is not None:
            checkpoint[STATE_KEY] = torch.from_numpy(self.store.read())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep a resumed store for :meth:`before_train`."""
        state = checkpoint.get(STATE_KEY)
        if state is not None:
            self._resumed = torch.as_tensor(state).numpy().astype(np.float32)
