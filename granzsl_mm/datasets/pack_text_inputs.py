"""``PackTextInputs``: pack a text-only item (sentence + class index).

Batch format (mmengine's default ``pseudo_collate``): ``inputs`` is a list
of ``B`` sentences (str) and ``data_samples`` a list of ``B``
``DataSample`` each with ``gt_label`` (the sentence's class index; for a
multi-label caption its positive classes, and ``gt_score``) and metainfo
``text`` (the same sentence). A data preprocessor for text batches can pass
``inputs`` through unchanged.
"""
from typing import Any, Dict

import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from granzsl_mm.registry import TRANSFORMS

__all__ = ['PackTextInputs']


@TRANSFORMS.register_module()
class PackTextInputs(BaseTransform):
    """Pack ``{'text', 'gt_label'}`` into ``{'inputs', 'data_samples'}``.

    Args:
        text_key (str): Key of the sentence in the item.
        meta_keys (tuple[str]): Other item keys copied into the sample's
            metainfo.
    """

    def __init__(self, text_key: str = 'text', meta_keys: tuple = ()) -> None:
        self.text_key = text_key
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Pack one item.

        Args:
            results (dict): Item with ``text_key`` and ``gt_label`` (an int,
                or a list of positive class indices), optionally
                ``gt_score`` (a label vector over all classes).

        Returns:
            dict: ``inputs`` (the sentence) and ``data_samples``.
        """
        if self.text_key not in results or 'gt_label' not in results:
            raise KeyError(f'PackTextInputs needs {self.text_key!r} and '
                           f'"gt_label"; got keys {sorted(results)}')
        text = results[self.text_key]
        label = results['gt_label']
        # a class index, or (multi-label captions) a list of indices
        sample = DataSample().set_gt_label(
            list(label) if isinstance(label, (list, tuple)) else int(label))
        if 'gt_score' in results:
            sample.set_gt_score(torch.as_tensor(results['gt_score'],
                                                dtype=torch.float32))
        meta = {'text': text}
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        sample.set_metainfo(meta)
        return {'inputs': text, 'data_samples': sample}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(text_key={self.text_key!r}, '
                f'meta_keys={self.meta_keys})')
