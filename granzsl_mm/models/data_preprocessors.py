"""A data preprocessor for models fed sentences in training and images in test.

GranZSL trains on text only (each item: one description sentence and its
class index) and is evaluated on images; one preprocessor serves both: a batch
whose inputs are strings passes through unchanged (data samples moved to the
model's device), a batch of images is stacked, converted to RGB and
normalised (CLIP's mean/std, set in the config) by MMPretrain's
``ClsDataPreprocessor``.
"""
from typing import Any, Sequence

from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from granzsl_mm.registry import MODELS

__all__ = ['TextImageDataPreprocessor', 'is_text_batch']


def is_text_batch(inputs: Any) -> bool:
    """Whether a batch's inputs are sentences (a non-empty sequence of str)."""
    return (isinstance(inputs, Sequence) and not isinstance(inputs, str)
            and len(inputs) > 0 and all(isinstance(x, str) for x in inputs))


@MODELS.register_module()
class TextImageDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that lets sentence batches through.

    Args:
        **kwargs: Arguments of MMPretrain's ``ClsDataPreprocessor`` (``mean``,
            ``std``, ``to_rgb``, ...), applied to image batches only.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Pass sentence batches through; preprocess image batches.

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the dataloader.
            training (bool): Whether in training (batch augments apply to
                images only).

        Returns:
            dict: ``inputs`` (list of str, or a ``[B, 3, H, W]`` float tensor)
            and ``data_samples``.
        """
        inputs = data['inputs']
        if isinstance(inputs, str):
            inputs = [inputs]
        if is_text_batch(inputs):
            samples = data.get('data_samples')
            if samples is not None:
                samples = self.cast_data(samples)
            return dict(inputs=list(inputs), data_samples=samples)
        return super().forward(data, training)
