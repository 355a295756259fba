"""Snippet test-time aggregation as an mmengine TTA model.

mmengine's ``BaseTTAModel.test_step`` runs the wrapped model once per
augmented view and merges data samples only: it can neither batch the views
nor see the cosine maps the snippet aggregation needs. This subclass receives
the plain test batch (``tta_pipeline`` is the ordinary test pipeline),
preprocesses it once, cuts the snippets from the batch tensor, encodes all
views together and aggregates with :func:`aggregate_snippets`. How many
views go into one backbone call is ``views_per_call``: all of them on a GPU,
on a CPU the size measured fastest on this machine (:class:`ViewChunker`).

Mixed precision: with ``autocast='fp16'`` / ``'bf16'`` the towers run under
``torch.autocast``; the cosines are cast to float32 before the aggregation,
so scoring and evaluation stay in fp32.

:class:`GranZSLSnippetVal` is GranZSL validating the same way (model
selection as the reference: ``configs/granzsl_coco_select_on_test.py``).
"""
import contextlib
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import DEFAULT_SNIPPET_GRIDS

from ..classifiers.granzsl import GranZSL
from .snippets import (
    RESIZE_MODES,
    aggregate_snippets,
    cut_snippets,
    num_snippets,
)
from .view_chunks import ViewChunker

__all__ = ['SnippetTTAModel', 'GranZSLSnippetVal', 'snippet_predict',
           'SNIPPET_SOURCES']

AUTOCAST_DTYPES = {None: None, 'fp32': None, 'fp16': torch.float16,
                   'bf16': torch.bfloat16}
# Where the snippets come from: 'batch' cuts them from the preprocessed
# batch tensor (ours); 'pipeline' takes the ``snippets`` each data sample
# carries, cut from the original image by the ``CutSnippets`` transform
# (GranZSL's reference, RCNn).
SNIPPET_SOURCES = ('batch', 'pipeline')
SNIPPETS_FIELD = 'snippets'


def _autocast(dtype: Optional[torch.dtype], device: torch.device):
    """``torch.autocast`` context of ``dtype`` (or a no-op for None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _check_snippet_source(name: str, value: str) -> str:
    if value not in SNIPPET_SOURCES:
        raise ValueError(f'{name} must be one of {SNIPPET_SOURCES}, got '
                         f'{value!r}')
    return value


def _pipeline_snippets(module: nn.Module, data_samples: Optional[list],
                       images: torch.Tensor, count: int) -> torch.Tensor:
    """The ``[B, K, C, S, S]`` snippets the data samples carry (uint8, cut by
    ``CutSnippets``), preprocessed as the images (channel order, mean and
    std); the field is removed from the samples (it is large)."""
    if not data_samples or any(
            SNIPPETS_FIELD not in s for s in data_samples):
        raise ValueError(
            "snippet_source='pipeline' needs the snippets in every data "
            "sample: add dict(type='CutSnippets', grids=..., size=...) after "
            "LoadImageFromFile and PackInputs(algorithm_keys=['snippets'])")
    views = []
    for sample in data_samples:
        crops = torch.as_tensor(sample.get(SNIPPETS_FIELD))
        sample.pop(SNIPPETS_FIELD)
        if crops.dim() != 4 or crops.shape[0] != count:
            raise ValueError(f'expected {count} snippets [K, S, S, C] per '
                             f'image, got {tuple(crops.shape)}')
        views += list(crops.permute(0, 3, 1, 2))
    crops = module.data_preprocessor(dict(inputs=views), False)['inputs']
    crops = crops.reshape(len(data_samples), count, *crops.shape[1:])
    if crops.shape[2:] != images.shape[1:]:
        raise ValueError(f'snippets {tuple(crops.shape[2:])} and images '
                         f'{tuple(images.shape[1:])} differ in size: give '
                         'CutSnippets the test resize size')
    return crops


def snippet_predict(module: nn.Module, data: dict, grids: Sequence[int],
                    snippet_resize: str = 'bicubic',
                    autocast_dtype: Optional[torch.dtype] = None,
                    logit_scale: Optional[float] = None,
                    snippet_source: str = 'batch',
                    chunker: Optional[ViewChunker] = None) -> list:
    """Score a plain test batch on the full image plus its snippets.

    The batch is preprocessed once, the snippets are cut from the batch
    tensor (:func:`cut_snippets`) or taken from the data samples
    (``snippet_source='pipeline'``), all views are encoded by
    ``module.view_cosines`` (in the calls ``chunker`` makes) and merged
    by :func:`aggregate_snippets`.

    Args:
        module (nn.Module): A model with ``data_preprocessor``,
            ``view_cosines``, ``pack_predictions``, ``logit_scale`` and
            ``score_mode`` (:class:`GranZSL`).
        data (dict): ``inputs`` and ``data_samples`` of the test pipeline.
        grids (Sequence[int]): Grid sizes.
        snippet_resize (str): ``'bilinear'`` or ``'bicubic'``.
        autocast_dtype (torch.dtype, optional): Run the towers under
            ``torch.autocast`` of this dtype (scores stay fp32).
        logit_scale (float, optional): Overrides ``module.logit_scale``.
        snippet_source (str): ``'batch'`` (cut from the batch tensor,
            resized with ``snippet_resize``) or ``'pipeline'`` (the
            ``snippets`` field of each data sample, cut from the original
            image by the ``CutSnippets`` transform as GranZSL's reference
            does; ``snippet_resize`` is not used).
        chunker (ViewChunker, optional): Splits the views into backbone
            calls (default: all views in one call).

    Returns:
        list: Data samples with ``pred_score``.
    """
    _check_snippet_source('snippet_source', snippet_source)
    if not isinstance(data, dict):
        raise TypeError('snippet scoring expects the plain test pipeline '
                        '(tta_pipeline = test_pipeline), not TestTimeAug '
                        f'views; got a {type(data).__name__} batch')
    data = module.data_preprocessor(data, False)
    images = data['inputs']
    if images.shape[-1] != images.shape[-2]:
        raise ValueError('snippets need square images (resize the test '
                         f'images to S x S), got {tuple(images.shape)}')
    bsz = images.shape[0]
    if snippet_source == 'pipeline':
        crops = _pipeline_snippets(module, data.get('data_samples'), images,
                                   num_snippets(grids))
    else:
        crops = cut_snippets(images, grids, mode=snippet_resize)
    views = torch.cat([images.unsqueeze(1), crops.to(images.dtype)], dim=1)
    num_views = views.shape[1]
    chunker = chunker or ViewChunker(None)
    with torch.no_grad(), _autocast(autocast_dtype, views.device):
        local, glob = chunker(module.view_cosines, views.flatten(0, 1))
    if local is None:
        raise ValueError('snippet aggregation needs dense features '
                         "(backbone dense_mode='clearclip')")
    local = local.float().reshape(bsz, num_views, *local.shape[1:])
    glob = glob.float().reshape(bsz, num_views, -1)
    scale = module.logit_scale if logit_scale is None else logit_scale
    scores = aggregate_snippets(local[:, 0], glob[:, 0], local[:, 1:],
                                glob[:, 1:], tuple(grids), scale,
                                mode=module.score_mode)
    return module.pack_predictions(scores, data.get('data_samples'))


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
        snippet_resize (str): How each snippet is resized back to the
            image size (:func:`cut_snippets`): ``'bilinear'`` (the GranZSL
            reference, torchvision ``Resize``; the paper configs) or
            ``'bicubic'`` (the default, kept for earlier results).
        snippet_source (str): ``'batch'`` (default: cut from the test
            tensor) or ``'pipeline'`` (the ``CutSnippets`` transform's,
            from the original image, as GranZSL's reference;
            :func:`snippet_predict`).
        views_per_call (int | str, optional): Views (images x snippets)
            per backbone call: ``'auto'`` (default; all on a GPU, measured
            on a CPU: :class:`ViewChunker`), an int, or ``None`` (all).
    """

    def __init__(self, module: Union[dict, nn.Module],
                 grids: Sequence[int] = DEFAULT_SNIPPET_GRIDS,
                 logit_scale: Optional[float] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 autocast: Optional[str] = None,
                 snippet_resize: str = 'bicubic',
                 snippet_source: str = 'batch',
                 views_per_call: Union[int, str, None] = 'auto') -> None:
        super().__init__(module, data_preprocessor)
        self.view_chunker = ViewChunker(views_per_call)
        self.snippet_source = _check_snippet_source('snippet_source',
                                                    snippet_source)
        if snippet_resize not in RESIZE_MODES:
            raise ValueError(f'snippet_resize must be one of {RESIZE_MODES}, '
                             f'got {snippet_resize!r}')
        self.snippet_resize = snippet_resize
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
        return snippet_predict(self.module, data, self.grids,
                               self.snippet_resize, self.autocast_dtype,
                               self.logit_scale, self.snippet_source,
                               self.view_chunker)

    def merge_preds(self, data_samples_list: List[list]) -> list:
        """Not used: :meth:`test_step` aggregates features, not predictions."""
        raise NotImplementedError('SnippetTTAModel aggregates in test_step')


@MODELS.register_module()
class GranZSLSnippetVal(GranZSL):
    """:class:`GranZSL` that validates with snippets (the reference's model
    selection, ``configs/granzsl_coco_select_on_test.py``).

    ``val_step`` scores the full image plus the snippet grids as
    :class:`SnippetTTAModel` does; training, ``test_step`` (wrap with
    ``--tta`` for snippets) and checkpoints are those of :class:`GranZSL`
    (the same state-dict keys: a checkpoint loads into either).

    Args:
        *args: :class:`GranZSL` arguments.
        val_grids (Sequence[int]): Snippet grids of validation.
        val_snippet_resize (str): Snippet resize mode of validation.
        val_autocast (str, optional): ``'fp16'`` / ``'bf16'``: validate the
            towers under ``torch.autocast`` (scores fp32).
        val_snippet_source (str): ``'batch'`` or ``'pipeline'``, as
            :class:`SnippetTTAModel`'s ``snippet_source``.
        val_views_per_call (int | str, optional): As
            :class:`SnippetTTAModel`'s ``views_per_call``.
        **kwargs: :class:`GranZSL` arguments.
    """

    def __init__(self, *args,
                 val_grids: Sequence[int] = DEFAULT_SNIPPET_GRIDS,
                 val_snippet_resize: str = 'bilinear',
                 val_autocast: Optional[str] = None,
                 val_snippet_source: str = 'batch',
                 val_views_per_call: Union[int, str, None] = 'auto',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.val_view_chunker = ViewChunker(val_views_per_call)
        self.val_snippet_source = _check_snippet_source(
            'val_snippet_source', val_snippet_source)
        if val_snippet_resize not in RESIZE_MODES:
            raise ValueError(f'val_snippet_resize must be one of '
                             f'{RESIZE_MODES}, got {val_snippet_resize!r}')
        if val_autocast not in AUTOCAST_DTYPES:
            raise ValueError(f'val_autocast must be one of '
                             f'{list(AUTOCAST_DTYPES)}, got {val_autocast!r}')
        self.val_grids = tuple(int(n) for n in val_grids)
        num_snippets(self.val_grids)  # validates the grid sizes
        self.val_snippet_resize = val_snippet_resize
        self.val_autocast_dtype = AUTOCAST_DTYPES[val_autocast]

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        """Score a validation batch with snippets (see the class doc)."""
        return snippet_predict(self, data, self.val_grids,
                               self.val_snippet_resize,
                               self.val_autocast_dtype,
                               snippet_source=self.val_snippet_source,
                               chunker=self.val_view_chunker)
