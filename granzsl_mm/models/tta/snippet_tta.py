"""Snippet test-time aggregation as an mmengine TTA model.

mmengine's ``BaseTTAModel.test_step`` runs the wrapped model once per
augmented view and merges data samples only: it can neither batch the views
nor see the cosine maps the snippet aggregation needs. This subclass receives
the plain test batch (``tta_pipeline`` is the ordinary test pipeline),
preprocesses it once, cuts the snippets from the batch tensor, encodes all
views in ONE backbone call and aggregates with :func:`aggregate_snippets`.

Mixed precision: with ``autocast='fp16'`` / ``'bf16'`` the towers run under
``torch.autocast``; the cosines are cast to float32 before the aggregation,
so scoring and evaluation stay in fp32.
"""
import contextlib
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel

from granzsl_mm.registry import MODELS

from .snippets import aggregate_snippets, cut_snippets, num_snippets

__all__ = ['SnippetTTAModel']

AUTOCAST_DTYPES = {None: None, 'fp32': None, 'fp16': torch.float16,
                   'bf16': torch.bfloat16}


@MODELS.register_module()
class SnippetTTAModel(BaseTTAModel):
    """Evaluate a model on the full image plus ``n x n`` grids of snippets.

    The wrapped model must provide ``data_preprocessor``,
    ``view_cosines(images) -> (local [N, C, h, w], global [N, C])``,
    ``pack_predictions(scores, data_samples)``, ``logit_scale`` and
    ``score_mode`` (as :class:`GranZSL` does).

    Args:
        module (dict | nn.Module): The wrapped model.
        grids (Sequence[int]): Grid sizes, e.g. ``(2, 3)`` (COCO) or ``(2,)``
            (NUS-WIDE).
        logit_scale (float, optional): Overrides the module's ``s``.
        data_preprocessor (dict | nn.Module, optional): Overrides the
            module's preprocessor.
        autocast (str, optional): ``'fp16'`` or ``'bf16'`` runs the towers
            under ``torch.autocast`` (aggregation and scores in fp32);
            ``None`` / ``'fp32'``: no autocast.
    """

    def __init__(self, module: Union[dict, nn.Module],
                 grids: Sequence[int] = (2, 3),
                 logit_scale: Optional[float] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 autocast: Optional[str] = None) -> None:
        super().__init__(module, data_preprocessor)
        if autocast not in AUTOCAST_DTYPES:
            raise ValueError(f'autocast must be one of '
                             f'{list(AUTOCAST_DTYPES)}, got {autocast!r}')
        self.autocast_dtype = AUTOCAST_DTYPES[autocast]
        self.grids = tuple(int(n) for n in grids)
        num_snippets(self.grids)  # validates the grid sizes
        self.logit_scale = logit_scale
        for attr in ('view_cosines', 'pack_predictions', 'data_preprocessor'):
            if not hasattr(self.module, attr):
                raise TypeError(f'SnippetTTAModel needs a module with '
                                f'`{attr}`, got {type(self.module).__name__}')

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """Predict a plain (un-augmented) test batch with snippets.

        Args:
            data (dict): ``inputs`` and ``data_samples`` of the ordinary test
                pipeline.

        Returns:
            list: Data samples with ``pred_score``.
        """
        if not isinstance(data, dict):
            raise TypeError('SnippetTTAModel expects the plain test pipeline '
                            '(tta_pipeline = test_pipeline), not TestTimeAug '
                            f'views; got a {type(data).__name__} batch')
        data = self.module.data_preprocessor(data, False)
        images = data['inputs']
        if images.shape[-1] != images.shape[-2]:
            raise ValueError('snippets need square images (resize the test '
                             f'images to S x S), got {tuple(images.shape)}')
        bsz = images.shape[0]
        crops = cut_snippets(images, self.grids)
        views = torch.cat([images.unsqueeze(1), crops.to(images.dtype)], dim=1)
        num_views = views.shape[1]
        with torch.no_grad(), self._autocast(views.device):
            local, glob = self.module.view_cosines(views.flatten(0, 1))
        if local is None:
            raise ValueError('snippet aggregation needs dense features '
                             "(backbone dense_mode='clearclip')")
        local = local.float().reshape(bsz, num_views, *local.shape[1:])
        glob = glob.float().reshape(bsz, num_views, -1)
        scale = self.module.logit_scale if self.logit_scale is None \
            else self.logit_scale
        scores = aggregate_snippets(local[:, 0], glob[:, 0], local[:, 1:],
                                    glob[:, 1:], self.grids, scale,
                                    mode=self.module.score_mode)
        return self.module.pack_predictions(scores, data.get('data_samples'))

    def _autocast(self, device: torch.device):
        """``torch.autocast`` context of the chosen dtype (or a no-op)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type,
                              dtype=self.autocast_dtype)

    def merge_preds(self, data_samples_list: List[list]) -> list:
        """Not used: :meth:`test_step` aggregates features, not predictions."""
        raise NotImplementedError('SnippetTTAModel aggregates in test_step')
