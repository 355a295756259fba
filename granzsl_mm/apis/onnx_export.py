"""A zero-shot / GranZSL classifier with a fixed vocabulary as one ONNX graph.

The graph maps a batch of images, as the test pipeline leaves them (float
``[B, 3, H, W]``, BGR, 0-255, already resized to the network size), to
``[B, V]`` scores over the vocabulary fixed at export time: the data
preprocessor's channel flip and normalisation, the CLIP image tower (and
its ClearCLIP dense features), cosines against the baked-in class
embeddings, the config's score combination and, with ``snippets``, the
GranZSL snippet cut (the resize of the config's ``tta_model.snippet_resize``:
antialiased, hence opset >= 18) and aggregation.

>>> from granzsl_mm.structures import DEFAULT_SNIPPET_GRIDS  # (2, 3)
>>> graph = ScoresGraph(model, grids=DEFAULT_SNIPPET_GRIDS)
>>> export_onnx(graph, 'granzsl.onnx', image_size=224)
>>> compare_with_onnxruntime(graph, 'granzsl.onnx', images)  # max |diff|
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from granzsl_mm.models.tta.snippets import aggregate_snippets, cut_snippets
from granzsl_mm.utils.atomic_io import atomic_path

__all__ = ['ScoresGraph', 'export_onnx', 'compare_with_onnxruntime',
           'MIN_OPSET_ANTIALIAS']

MIN_OPSET_ANTIALIAS = 18  # ONNX Resize gained ``antialias`` in opset 18


class ScoresGraph(nn.Module):
    """Images -> scores of a ``ZeroShotMultiLabelClassifier`` (fixed words).

    Args:
        model (nn.Module): A ``ZeroShotMultiLabelClassifier`` (a GranZSL
            model: pass ``ZeroShotMultiLabelClassifier.from_granzsl(m)``).
        grids (Sequence[int], optional): Snippet grids; None or empty: no
            snippets (the model's plain ``forward_tensor``).
        snippet_resize (str): ``'bicubic'`` or ``'bilinear'`` (antialiased).
    """

    def __init__(self, model: nn.Module,
                 grids: Optional[Sequence[int]] = None,
                 snippet_resize: str = 'bicubic') -> None:
        super().__init__()
        self.model = model
        self.grids = tuple(grids or ())
        self.snippet_resize = snippet_resize
        if self.grids and model.local_pooling != 'softmax':
            raise ValueError("snippet aggregation pools with a softmax; set "
                             "local_pooling='softmax'")
        with torch.no_grad():
            embeds = model.class_embeddings().float().clone()
        self.register_buffer('class_embeds', embeds, persistent=False)
        self.words = list(model.vocabulary)
        pre = model.data_preprocessor
        mean = getattr(pre, 'mean', None)
        std = getattr(pre, 'std', None)
        self.register_buffer('mean', (mean if mean is not None else
                                      torch.zeros(3, 1, 1)).float().clone(),
                             persistent=False)
        self.register_buffer('std', (std if std is not None else
                                     torch.ones(3, 1, 1)).float().clone(),
                             persistent=False)
        self.to_rgb = bool(getattr(pre, 'to_rgb', False) or getattr(
            pre, '_channel_conversion', False))
        self.scale = float(model.logit_scale)

    def preprocess(self, images: Tensor) -> Tensor:
        """The data preprocessor: BGR -> RGB (when configured), normalise."""
        if self.to_rgb:
            images = images[:, [2, 1, 0]]
        return (images - self.mean) / self.std

    def _cosines(self, images: Tensor):
        model = self.model
        global_feat, dense = model.extract_feat(images)
        names = self.class_embeds
        glob = F.normalize(global_feat.float(), dim=-1) @ names.t()
        if dense is None:
            return None, glob
        h, w = model._grid(images, dense.shape[1])
        local = F.normalize(dense.float(), dim=-1) @ names.t()
        return local.transpose(1, 2).reshape(images.shape[0], -1, h, w), glob

    def forward(self, images: Tensor) -> Tensor:
        """``[B, V]`` scores of ``[B, 3, H, W]`` BGR 0-255 images."""
        model = self.model
        images = self.preprocess(images.float())
        if not self.grids:
            return model.scores_from_cosines(*self._cosines(images))
        crops = cut_snippets(images, self.grids, mode=self.snippet_resize)
        views = torch.cat([images.unsqueeze(1), crops], 1)
        bsz, num = views.shape[:2]
        local, glob = self._cosines(views.flatten(0, 1))
        if local is None:
            raise ValueError('snippet aggregation needs dense features')
        local = local.reshape(bsz, num, *local.shape[1:])
        glob = glob.reshape(bsz, num, -1)
        scores = aggregate_snippets(local[:, 0], glob[:, 0], local[:, 1:],
                                    glob[:, 1:], self.grids, self.scale,
                                    mode=model.score_mode)
        return scores.sigmoid() if model.score_act == 'sigmoid' else scores


def _aa_resize_symbolic(mode: str, cubic_a: float = -0.5):
    """ONNX symbolic of ``aten::_upsample_{mode}2d_aa``: ``Resize`` with
    ``antialias=1`` (opset 18), half-pixel coordinates and, as PyTorch's
    antialiased kernels (Pillow's), cubic coefficient -0.5 with the weights
    outside the image excluded."""
    from torch.onnx import symbolic_helper as sym_help

    def symbolic(g, image, output_size, align_corners, *scales):
        if sym_help._maybe_get_const(align_corners, 'b'):
            raise ValueError('antialiased resize with align_corners=True has '
                             'no ONNX equivalent')
        shape = g.op('Shape', image)
        head = g.op('Slice', shape,
                    g.op('Constant', value_t=torch.tensor([0])),
                    g.op('Constant', value_t=torch.tensor([2])))
        axis0 = g.op('Constant', value_t=torch.tensor([0]))
        if sym_help._is_packed_list(output_size):
            dims = []
            for v in sym_help._unpack_list(output_size):
                dims.append(g.op('Cast', g.op('Unsqueeze', v, axis0),
                                 to_i=7))  # int64
            tail = g.op('Concat', *dims, axis_i=0)
        else:
            size = sym_help._maybe_get_const(output_size, 'is')
            tail = (g.op('Cast', output_size, to_i=7)
                    if sym_help._is_value(size) else g.op(
                        'Constant', value_t=torch.tensor(list(size),
                                                         dtype=torch.int64)))
        sizes = g.op('Concat', head, tail, axis_i=0)
        return g.op('Resize', image, g.op('Constant', value_t=torch.tensor(
            [], dtype=torch.float32)), g.op('Constant', value_t=torch.tensor(
                [], dtype=torch.float32)), sizes, antialias_i=1,
            mode_s=mode, coordinate_transformation_mode_s='half_pixel',
            exclude_outside_i=1,
            cubic_coeff_a_f=cubic_a, nearest_mode_s='floor')
    return symbolic


def _register_aa_symbolics(opset: int) -> None:
    for op, mode in (('aten::_upsample_bicubic2d_aa', 'cubic'),
                     ('aten::_upsample_bilinear2d_aa', 'linear')):
        torch.onnx.register_custom_op_symbolic(op, _aa_resize_symbolic(mode),
                                               opset)


def export_onnx(graph: ScoresGraph, path: str, image_size: int,
                opset: int = MIN_OPSET_ANTIALIAS, batch_size: int = 1,
                dynamic_batch: bool = True) -> str:
    """Export the graph (input ``images``, output ``scores``).

    Args:
        graph (ScoresGraph): The graph.
        path (str): Output ``.onnx`` file.
        image_size (int): Network input side (square).
        opset (int): ONNX opset; >= 18 when snippets are resized.
        batch_size (int): Batch of the example input.
        dynamic_batch (bool): Leave the batch dimension free.

    Returns:
        str: ``path``.
    """
    if graph.grids and opset < MIN_OPSET_ANTIALIAS:
        raise ValueError(f'snippets are resized with antialiasing: opset >= '
                         f'{MIN_OPSET_ANTIALIAS} needed, got {opset}')
    graph = graph.eval()
    example = torch.zeros(batch_size, 3, image_size, image_size)
    axes = dict(images={0: 'batch'}, scores={0: 'batch'}) \
        if dynamic_batch else None
    _register_aa_symbolics(opset)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # nn.MultiheadAttention's fused inference path has no ONNX symbolic.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), atomic_path(path, suffix='.onnx') as tmp:
            torch.onnx.export(graph, (example, ), tmp,
                              input_names=['images'],
                              output_names=['scores'], dynamic_axes=axes,
                              opset_version=opset, dynamo=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return path


def compare_with_onnxruntime(graph: ScoresGraph, path: str,
                             images: Tensor) -> float:
    """Max ``|onnxruntime - PyTorch|`` of the scores on the same images.

    Args:
        graph (ScoresGraph): The exported graph.
        path (str): Its ONNX file.
        images (Tensor): ``[B, 3, H, W]`` BGR 0-255 images.

    Returns:
        float: The largest absolute difference.
    """
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(['scores'], {'images': images.float().numpy()})[0]
    with torch.no_grad():
        ref = graph.eval()(images.float())
    return float((torch.from_numpy(got) - ref).abs().max())
