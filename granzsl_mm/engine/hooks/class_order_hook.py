"""Refuse a model whose class order is not the dataset's (or map by name).

A model scores column ``j`` for its ``j``-th class; the metric reads column
``j`` as the dataset's ``j``-th class. Same names in another order score
every label against the wrong column with no error. :class:`ClassOrderHook`
compares, before the first iteration of a test or training run, the
model's class order with the dataset's ``metainfo['classes']``:

* the built model's ``class_names`` (from its config's ``class_names`` list
  or file; a vocabulary file's learned names are matched to them by name;
  for a zero-shot model, the words it scores);
* the stored class names of a loaded checkpoint
  (``meta['dataset_meta']['classes']``), where present.

Names are compared without case, spaces, ``_`` and ``-`` (VOC's
``pottedplant`` is CLIP's ``potted plant``); an order of the same set of
names that differs raises :class:`ClassOrderError` naming the first
differing position (other names, or a label subset, are not compared).
With ``map_by_name=True`` (config key ``class_order='by_name'``, e.g.
``--cfg-options class_order=by_name``) the same set of names in another
order is mapped instead: test scores are permuted into the dataset's
order, training targets into the model's.
``prepare_test_cfg`` / ``prepare_train_cfg`` add the hook.
"""
import re
from typing import List, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from granzsl_mm.registry import HOOKS

__all__ = ['ClassOrderHook', 'ClassOrderError', 'class_order_mismatch']


class ClassOrderError(ValueError):
    """The model's class order differs from the dataset's."""


def class_order_mismatch(model_names: Sequence[str],
                         data_names: Sequence[str]) -> Optional[str]:
    """Describe the first difference of two class orders (None: equal)."""
    model_names, data_names = list(model_names), list(data_names)
    if list(map(_norm, model_names)) == list(map(_norm, data_names)):
        return None
    for i, (m, d) in enumerate(zip(model_names, data_names)):
        if _norm(m) != _norm(d):
            return (f'position {i}: the model has {m!r}, the dataset has '
                    f'{d!r}')
    first = min(len(model_names), len(data_names))
    return (f'position {first}: the model has {len(model_names)} classes, '
            f'the dataset {len(data_names)}')


def _norm(name: str) -> str:
    """A class name without case, spaces, '_' or '-' ('potted plant' ==
    'pottedplant')."""
    return re.sub(r'[\s_\-]+', '', str(name).lower())


def _dataset_meta(loader) -> dict:
    dataset = getattr(loader, 'dataset', None)
    return dict(getattr(dataset, 'metainfo', None) or {})


@HOOKS.register_module()
class ClassOrderHook(Hook):
    """Check (or map by name) the model's class order against the dataset's.

    Args:
        map_by_name (bool): Map the same names in another order instead of
            refusing them.
    """

    priority = 'VERY_HIGH'

    def __init__(self, map_by_name: bool = False) -> None:
        self.map_by_name = map_by_name
        self._checkpoint_names: Optional[List[str]] = None
        self._checkpoint_source = ''

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the class names a checkpoint stores."""
        meta = checkpoint.get('meta') or {}
        names = (meta.get('dataset_meta') or {}).get('classes')
        if isinstance(names, (list, tuple)) and all(
                isinstance(n, str) for n in names):
            self._checkpoint_names = list(names)
            self._checkpoint_source = str(runner.cfg.get('load_from') or
                                          'the checkpoint')

    def _model(self, runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _sources(self, runner) -> List[tuple]:
        out = []
        model = self._model(runner)
        # the words a zero-shot model scores, else its classes
        names = getattr(model, 'vocabulary', None) or getattr(
            model, 'class_names', None)
        if names:
            out.append(('the model (config class_names)', list(names)))
        if self._checkpoint_names is not None:
            out.append((f'the checkpoint {self._checkpoint_source} '
                        '(meta.dataset_meta.classes)', self._checkpoint_names))
        return out

    def _permutation(self, what: str, model_names: List[str],
                     data_names: List[str], problem: str) -> List[int]:
        model_names = [_norm(n) for n in model_names]
        data_names = [_norm(n) for n in data_names]
        if not self.map_by_name or len(set(data_names)) != len(data_names):
            how = ('' if self.map_by_name else
                   '; if the names are the same set, map them by name with '
                   '--cfg-options class_order=by_name')
            raise ClassOrderError(
                f'class order of {what} differs from the dataset\'s '
                f'metainfo["classes"] at {problem}: every score would be '
                f'read as another class. Use the dataset\'s order (seen then '
                f'unseen){how}.')
        return [model_names.index(n) for n in data_names]

    def _check(self, runner, loader) -> Optional[List[int]]:
        data_names = list(_dataset_meta(loader).get('classes') or [])
        if not data_names:
            return None
        perm = None
        for what, names in self._sources(runner):
            if [_norm(n) for n in names] == [_norm(n) for n in data_names]:
                continue  # the same order (spelling aside: 'potted plant')
            if sorted(map(_norm, names)) != sorted(map(_norm, data_names)):
                continue  # other names or a label subset: nothing to compare
            problem = class_order_mismatch(names, data_names)
            perm = self._permutation(what, names, data_names, problem)
            print_log(f'ClassOrderHook: {what} lists the dataset\'s classes '
                      'in another order; mapped by name '
                      '(class_order=by_name)', logger='current')
        return perm

    def before_test(self, runner) -> None:
        """Refuse (or map) a test run with another class order."""
        perm = self._check(runner, runner.test_dataloader)
        if perm is not None:
            self._wrap_test_step(runner, perm)

    def before_train(self, runner) -> None:
        """Refuse (or map) a training run with another class order."""
        self._train_perm = self._check(runner, runner.train_dataloader)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Targets in dataset order -> the model's order (by name)."""
        perm = getattr(self, '_train_perm', None)
        if perm is None or not data_batch:
            return
        index = torch.tensor(perm)
        for sample in data_batch.get('data_samples') or []:
            if 'gt_label' in sample:
                sample.set_gt_label(index[sample.gt_label.long().cpu()])
            if 'gt_score' in sample:
                score = sample.gt_score
                new = torch.empty_like(score)
                new[index.to(score.device)] = score
                sample.set_gt_score(new)

    def _wrap_test_step(self, runner, perm: List[int]) -> None:
        model = self._model(runner)
        meta = _dataset_meta(runner.test_dataloader)
        num_seen = len(meta.get('seen_classes') or [])
        unseen_perm = [p - num_seen for p in perm[num_seen:]]
        if any(p < 0 for p in unseen_perm) or sorted(perm[:num_seen]) != list(
                range(num_seen)):
            raise ClassOrderError(
                'class_order=by_name maps names within the seen and the '
                'unseen classes only: the model and the dataset must agree '
                'on which classes are seen')
        step = model.test_step

        def test_step(data):
            outputs = step(data)
            for sample in outputs:
                if 'pred_score' in sample:
                    sample.pred_score = sample.pred_score[perm]
                if 'pred_score_zsl' in sample:
                    sample.pred_score_zsl = sample.pred_score_zsl[unseen_perm]
            return outputs

        model.test_step = test_step
